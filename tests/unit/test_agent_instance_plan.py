"""Which Instances a node applies and which it releases, from desired and current state."""

from __future__ import annotations

from typing import Any

from akri_agent.discovery.desired import desired_instances
from akri_agent.discovery.model import Endpoint, EndpointDevices, EndpointKind
from akri_agent.instances.plan import plan_instances
from akri_common.crds.configuration import Configuration, DiscoveryHandlerInfo
from akri_common.crds.instance import OwnerConfiguration
from akri_common.devices import Device
from akri_common.ids import ConfigurationName, HandlerName, NodeName

NODE = NodeName("node-a")
OWNER = OwnerConfiguration(name=ConfigurationName("cfg"), uid="uid-1")
CONFIG = Configuration(
    name=ConfigurationName("cfg"),
    namespace="ns",
    discovery_handler=DiscoveryHandlerInfo(name=HandlerName("debugEcho")),
)
ENDPOINT = Endpoint(HandlerName("debugEcho"), "/a.sock", EndpointKind.UDS, shared=True)


def current(
    name: str, *nodes: str, configuration: str = "cfg", namespace: str = "ns"
) -> dict[str, Any]:
    return {
        "apiVersion": "akri.sh/v0",
        "kind": "Instance",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"u-{name}",
            "resourceVersion": "7",
        },
        "spec": {
            "configurationName": configuration,
            "cdiName": f"akri.sh/{configuration}=x",
            "capacity": 1,
            "brokerProperties": {"A": "1"},
            "shared": True,
            "nodes": list(nodes),
        },
    }


def plan(desired_ids: list[str], existing: list[dict[str, Any]]) -> Any:
    lists = [EndpointDevices(ENDPOINT, tuple(Device(id=i) for i in desired_ids))]
    return plan_instances(
        desired=desired_instances(CONFIG, lists, node=NODE),
        current=existing,
        configuration="cfg",
        namespace="ns",
        owner=OWNER,
        node=NODE,
    )


def test_every_desired_instance_is_applied() -> None:
    result = plan(["foo0", "foo1"], [])
    assert [m["metadata"]["name"] for m in result.apply] == ["cfg-8120fe", "cfg-a19705"]
    assert result.release == ()
    assert result.apply[0]["spec"]["nodes"] == ["node-a"]


def test_an_instance_no_longer_seen_is_released() -> None:
    result = plan(
        ["foo0"], [current("cfg-8120fe", "node-a"), current("cfg-gone", "node-a", "node-b")]
    )
    (release,) = result.release
    assert release.name == "cfg-gone"
    assert release.last is False
    assert release.patch() == [
        {"op": "test", "path": "/metadata/uid", "value": "u-cfg-gone"},
        {"op": "test", "path": "/spec/nodes/0", "value": "node-a"},
        {"op": "remove", "path": "/spec/nodes/0"},
    ]


def test_the_release_patch_targets_this_nodes_entry() -> None:
    (release,) = plan([], [current("cfg-x", "node-b", "node-a", "node-c")]).release
    assert release.patch()[1:] == [
        {"op": "test", "path": "/spec/nodes/1", "value": "node-a"},
        {"op": "remove", "path": "/spec/nodes/1"},
    ]


def test_the_last_node_deletes() -> None:
    (release,) = plan([], [current("cfg-old", "node-a")]).release
    assert release.last is True
    assert release.uid == "u-cfg-old"


def test_instances_of_others_are_left_alone() -> None:
    result = plan(
        [],
        [
            current("other-node", "node-b"),
            current("other-config", "node-a", configuration="cfg2"),
            current("other-namespace", "node-a", namespace="ns2"),
        ],
    )
    assert result.release == ()
