"""The SDK's pure parts: device values, proto conversion and change detection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from akri_common.devices import Device, DeviceSpec, Mount
from akri_common.grpc.discovery_wire import (
    device_from_proto,
    device_to_proto,
    devices_from_response,
    discover_request,
    properties_from_proto,
    response_from_devices,
)
from akri_handler_sdk.changes import changed, distinct_lists
from akri_proto.discovery.v0 import discovery_pb2 as pb

CAMERA = Device(
    id="/dev/video0",
    properties={"UDEV_DEVNODE_0": "/dev/video0", "VENDOR": "acme"},
    mounts=(Mount(container_path="/data", host_path="/var/data", read_only=True),),
    device_specs=(DeviceSpec(container_path="/dev/video0", host_path="/dev/video0"),),
)
PLAIN = Device(id="foo0", properties={"DEBUG_ECHO_DESCRIPTION": "foo0"})


@pytest.mark.parametrize("device", [CAMERA, PLAIN, Device(id="")])
def test_device_round_trips_through_proto(device: Device) -> None:
    assert device_from_proto(device_to_proto(device)) == device


def test_device_to_proto_sets_every_field() -> None:
    message = device_to_proto(CAMERA)
    assert message.id == "/dev/video0"
    assert dict(message.properties) == {"UDEV_DEVNODE_0": "/dev/video0", "VENDOR": "acme"}
    assert message.mounts[0] == pb.Mount(
        container_path="/data", host_path="/var/data", read_only=True
    )
    assert message.device_specs[0].permissions == "rw"


def test_response_round_trip_keeps_order() -> None:
    devices = (PLAIN, CAMERA)
    assert devices_from_response(response_from_devices(devices)) == devices


def test_properties_distinguish_absent_value_from_empty_bytes() -> None:
    request = discover_request("x", {"present": b"v", "empty": b"", "absent": None})
    assert not request.discovery_properties["absent"].HasField("vec")
    assert properties_from_proto(request.discovery_properties) == {
        "present": b"v",
        "empty": b"",
        "absent": None,
    }


def test_device_is_read_only_and_hashable() -> None:
    source = {"A": "1"}
    device = Device(id="d", properties=source)
    source["A"] = "2"
    assert device.properties == {"A": "1"}
    with pytest.raises(TypeError):
        device.properties["A"] = "3"  # type: ignore[index]
    assert hash(device) == hash(Device(id="d", properties={"A": "1"}))


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (None, (), True),
        (None, (PLAIN,), True),
        ((), (), False),
        ((PLAIN,), (PLAIN,), False),
        ((PLAIN, CAMERA), (CAMERA, PLAIN), False),
        ((PLAIN,), (), True),
        ((PLAIN,), (PLAIN, CAMERA), True),
        ((PLAIN,), (Device(id="foo0", properties={"DEBUG_ECHO_DESCRIPTION": "bar"}),), True),
    ],
)
def test_changed(
    previous: tuple[Device, ...] | None, current: tuple[Device, ...], expected: bool
) -> None:
    assert changed(previous, current) is expected


async def test_distinct_lists_drops_repeats_and_closes_the_source() -> None:
    closed = []

    async def source() -> AsyncIterator[Sequence[Device]]:
        try:
            for devices in ([PLAIN], [PLAIN], [], [], [PLAIN], [CAMERA, PLAIN], [PLAIN, CAMERA]):
                yield devices
        finally:
            closed.append(True)

    seen = [devices async for devices in distinct_lists(source())]
    assert seen == [(PLAIN,), (), (PLAIN,), (CAMERA, PLAIN)]
    assert closed == [True]
