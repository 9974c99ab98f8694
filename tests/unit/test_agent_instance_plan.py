"""Which Instances a node applies and which it releases, from desired and current state."""

from __future__ import annotations

from typing import Any

from akri_agent.discovery.desired import desired_instances
from akri_agent.discovery.model import Endpoint, EndpointDevices, EndpointKind
from akri_agent.instances.plan import DeleteOrphan, plan_instances
from akri_common.crds.configuration import Configuration, DiscoveryHandlerInfo
from akri_common.crds.instance import OwnerConfiguration
from akri_common.devices import Device
from akri_common.ids import ConfigurationName, HandlerName, InstanceName, NodeName

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


def plan(desired_ids: list[str], existing: list[dict[str, Any]], *, listed: bool = True) -> Any:
    lists = [EndpointDevices(ENDPOINT, tuple(Device(id=i) for i in desired_ids))]
    return plan_instances(
        desired=desired_instances(CONFIG, lists, node=NODE),
        current=existing,
        configuration="cfg",
        namespace="ns",
        owner=OWNER,
        node=NODE,
        listed=listed,
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


def test_nothing_is_released_before_discovery_is_listed() -> None:
    """After a restart or a details change, "no answer yet" is not "no devices"."""
    existing = [current("cfg-8120fe", "node-a"), current("cfg-gone", "node-a", "node-b")]
    assert plan([], existing, listed=False).release == ()
    assert [r.name for r in plan([], existing, listed=True).release] == ["cfg-8120fe", "cfg-gone"]


def test_an_instance_listing_no_node_is_deleted_as_an_orphan() -> None:
    """The last node emptied `nodes` but its delete failed (409): any pass deletes it, on the
    version it saw, listed or not, and also while the Configuration is being deleted."""
    orphan = current("cfg-orphan")
    terminating = current("cfg-terminating")
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    for listed in (True, False):
        result = plan([], [orphan, terminating, current("cfg-x", "node-b")], listed=listed)
        assert result.delete == (
            DeleteOrphan(InstanceName("cfg-orphan"), "ns", "u-cfg-orphan", "7"),
        )
        assert result.release == ()


def test_an_instance_that_already_says_what_this_node_writes_is_not_applied_again() -> None:
    first = plan(["foo0"], [])
    (manifest,) = first.apply
    stored = {
        **manifest,
        "metadata": {**manifest["metadata"], "uid": "u1", "resourceVersion": "9"},
        "spec": {**manifest["spec"], "nodes": ["node-b", "node-a"], "deviceUsage": {"s": "x"}},
    }
    assert plan(["foo0"], [stored]).apply == ()
    for key, value in (("capacity", 5), ("nodes", ["node-b"]), ("brokerProperties", {"B": "2"})):
        differing = {**stored, "spec": {**stored["spec"], key: value}}
        assert len(plan(["foo0"], [differing]).apply) == 1, key
    other_owner = {
        **stored,
        "metadata": {**stored["metadata"], "ownerReferences": [{"uid": "old", "controller": True}]},
    }
    assert len(plan(["foo0"], [other_owner]).apply) == 1
