"""What Allocate returns: env twice (KEY and KEY_<HASH6>), mounts, device nodes."""

from __future__ import annotations

from akri_agent.device_plugins.allocation import (
    ContainerAllocation,
    instance_allocation,
    instance_digest,
    merge_allocations,
)
from akri_common.devices import Device, DeviceSpec, Mount
from akri_common.ids import InstanceName


def test_digest_is_the_name_suffix() -> None:
    assert instance_digest(InstanceName("akri-debug-echo-foo-8120fe")) == "8120fe"


def test_envs_mounts_and_devices() -> None:
    device = Device(
        id="foo0",
        properties={"DEBUG_ECHO_DESCRIPTION": "foo0", "SHADOWED": "device"},
        mounts=(Mount(container_path="/data", host_path="/srv/data", read_only=True),),
        device_specs=(
            DeviceSpec(container_path="/dev/video0", host_path="", permissions="rw"),
            DeviceSpec(container_path="/dev/a", host_path="/dev/b", permissions="r"),
        ),
    )
    allocation = instance_allocation(
        instance=InstanceName("debug-8120fe"),
        broker_properties={"DEBUG_ECHO_DESCRIPTION": "foo0", "SHADOWED": "config", "X": "1"},
        device=device,
    )
    assert allocation.envs == {
        "DEBUG_ECHO_DESCRIPTION": "foo0",
        "DEBUG_ECHO_DESCRIPTION_8120FE": "foo0",
        "SHADOWED": "config",
        "SHADOWED_8120FE": "config",
        "X": "1",
        "X_8120FE": "1",
    }
    assert allocation.mounts == (Mount("/data", "/srv/data", True),)
    assert allocation.devices == (
        DeviceSpec("/dev/video0", "/dev/video0", "rw"),
        DeviceSpec("/dev/a", "/dev/b", "r"),
    )


def test_without_device_only_broker_properties() -> None:
    allocation = instance_allocation(
        instance=InstanceName("c-ab76e6"), broker_properties={"K": "v"}, device=None
    )
    assert allocation == ContainerAllocation(envs={"K": "v", "K_AB76E6": "v"})


def test_merge_keeps_suffixed_keys_apart_and_drops_repeats() -> None:
    mount = Mount("/m", "/m")
    a = ContainerAllocation(envs={"K": "a", "K_AAAAAA": "a"}, mounts=(mount,))
    b = ContainerAllocation(envs={"K": "b", "K_BBBBBB": "b"}, mounts=(mount,))
    merged = merge_allocations([a, b])
    assert merged.envs == {"K": "b", "K_AAAAAA": "a", "K_BBBBBB": "b"}
    assert merged.mounts == (mount,)
