"""The device registry: replaced per Configuration, read by Instance, announcing what changed."""

from __future__ import annotations

from akri_agent.instances.registry import DeviceRegistry
from akri_common.devices import Device, Mount
from akri_common.ids import ConfigurationName, InstanceName
from akri_common.k8s.store import ObjectKey

CFG = ConfigurationName("cfg")
A, B = InstanceName("cfg-aaaaaa"), InstanceName("cfg-bbbbbb")


def test_replace_announces_added_changed_and_removed_devices_only() -> None:
    registry = DeviceRegistry()
    heard: list[ObjectKey] = []
    registry.subscribe(heard.append)
    cam = Device(id="cam", mounts=(Mount(container_path="/a", host_path="/a"),))
    registry.replace(namespace="ns", configuration=CFG, devices={A: cam, B: Device(id="mic")})
    assert heard == [ObjectKey("ns", A), ObjectKey("ns", B)]

    heard.clear()
    registry.replace(namespace="ns", configuration=CFG, devices={A: cam, B: Device(id="mic")})
    assert heard == [], "the same devices again announce nothing"

    moved = Device(id="cam", mounts=(Mount(container_path="/a", host_path="/b"),))
    registry.replace(namespace="ns", configuration=CFG, devices={A: moved})
    assert heard == [ObjectKey("ns", A), ObjectKey("ns", B)]
    assert registry.get(ObjectKey("ns", A)) == moved
    assert registry.get(ObjectKey("ns", B)) is None

    heard.clear()
    registry.replace(namespace="other", configuration=CFG, devices={A: cam})
    assert heard == [ObjectKey("other", A)]
    assert registry.get(ObjectKey("ns", A)) == moved, "namespaces are kept apart"
    registry.replace(namespace="ns", configuration=CFG, devices={})
    assert len(registry) == 1
