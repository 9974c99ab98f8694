"""Desired Instances from merged device lists: names, merging, sharing, de-duplication."""

from __future__ import annotations

from akri_agent.discovery.desired import desired_instances, merge_properties
from akri_agent.discovery.model import Endpoint, EndpointDevices, EndpointKind
from akri_common.crds.configuration import Configuration, DiscoveryHandlerInfo
from akri_common.crds.instance import OwnerConfiguration
from akri_common.devices import Device
from akri_common.ids import ConfigurationName, DeviceId, HandlerName, NodeName

NODE = NodeName("node-a")


def _configuration(**overrides: object) -> Configuration:
    fields: dict[str, object] = {
        "name": ConfigurationName("akri-debug-echo"),
        "namespace": "edge",
        "discovery_handler": DiscoveryHandlerInfo(name=HandlerName("debugEcho")),
        "capacity": 2,
        "broker_properties": {"RESOLUTION": "640x480", "DEBUG_ECHO_DESCRIPTION": "overridden"},
    }
    fields.update(overrides)
    return Configuration(**fields)  # type: ignore[arg-type]


def _endpoint(address: str, *, shared: bool) -> Endpoint:
    return Endpoint(
        handler=HandlerName("debugEcho"), address=address, kind=EndpointKind.UDS, shared=shared
    )


def _devices(*ids: str) -> tuple[Device, ...]:
    return tuple(
        Device(id=DeviceId(i), properties={"DEBUG_ECHO_DESCRIPTION": i, "EXTRA": "x"}) for i in ids
    )


def test_shared_devices_are_named_by_id_only() -> None:
    lists = [EndpointDevices(_endpoint("/a.sock", shared=True), _devices("foo0", "foo1"))]
    wanted = desired_instances(_configuration(), lists, node=NODE)
    assert [w.name for w in wanted] == ["akri-debug-echo-8120fe", "akri-debug-echo-a19705"]
    first = wanted[0]
    assert first.namespace == "edge"
    assert first.spec.to_dict() == {
        "configurationName": "akri-debug-echo",
        "cdiName": "akri.sh/akri-debug-echo=8120fe",
        "capacity": 2,
        "brokerProperties": {
            "DEBUG_ECHO_DESCRIPTION": "overridden",
            "EXTRA": "x",
            "RESOLUTION": "640x480",
        },
        "shared": True,
        "nodes": ["node-a"],
        "deviceUsage": {},
    }


def test_unshared_devices_hash_the_node_name_too() -> None:
    device = Device(id=DeviceId("my_local_device"))
    lists = [EndpointDevices(_endpoint("/a.sock", shared=False), (device,))]
    on_node = desired_instances(_configuration(), lists, node=NodeName("my_node"))
    on_other = desired_instances(_configuration(), lists, node=NodeName("my_other_node"))
    assert [w.digest for w in on_node] == ["e77db4"]
    assert [w.digest for w in on_other] == ["099763"]
    assert on_node[0].spec.shared is False


def test_two_endpoints_merge_and_deduplicate() -> None:
    lists = [
        EndpointDevices(_endpoint("/b.sock", shared=True), _devices("foo1", "bar0")),
        EndpointDevices(_endpoint("/a.sock", shared=True), _devices("foo0", "foo1")),
    ]
    wanted = desired_instances(_configuration(), lists, node=NODE)
    assert sorted(w.device.id for w in wanted) == ["bar0", "foo0", "foo1"]
    assert len({w.name for w in wanted}) == 3


def test_no_lists_no_instances() -> None:
    assert desired_instances(_configuration(), [], node=NODE) == ()


def test_configuration_wins_on_property_clash() -> None:
    assert merge_properties({"A": "device", "B": "b"}, {"A": "configuration"}) == {
        "A": "configuration",
        "B": "b",
    }


def test_manifest_is_owned_by_the_configuration() -> None:
    lists = [EndpointDevices(_endpoint("/a.sock", shared=True), _devices("foo0"))]
    (wanted,) = desired_instances(_configuration(), lists, node=NODE)
    manifest = wanted.manifest(
        OwnerConfiguration(name=ConfigurationName("akri-debug-echo"), uid="u1")
    )
    assert manifest["apiVersion"] == "akri.sh/v0"
    assert manifest["kind"] == "Instance"
    assert manifest["metadata"]["name"] == "akri-debug-echo-8120fe"
    assert manifest["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "akri.sh/v0",
            "kind": "Configuration",
            "name": "akri-debug-echo",
            "uid": "u1",
            "controller": True,
        }
    ]
