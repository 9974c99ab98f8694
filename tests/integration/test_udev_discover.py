"""The udev handler over a real libudev (umockdev's fake sysfs) and real uevents.

Run under ``umockdev-wrapper`` (``make test`` does): the test process owns the ``UMockdev.Testbed``
and the handler reads it through the preloaded libudev. The tree (``tests/data/udev/camera.umockdev``)
holds a USB camera (video0 capture node, video1 metadata node), its interface (driver uvcvideo), its
USB device (046d, /dev/bus/usb/001/002) and root hub under a PCI controller, a PCI GPU bound to
vfio-pci with its IOMMU group, and a serial port.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
import pytest
import pyudev

from akri_common.devices import Device, DeviceSpec
from akri_handler_sdk.testing import HandlerUnderTest, leftover_tasks, serve_for_test
from akri_udev import sysfs
from akri_udev.details import parse_details
from akri_udev.devices import build_devices
from akri_udev.handler import UdevHandler
from tests.support.umockdev import CAMERA, INTERFACE, PCI, USB1, VIDEO0, VIDEO1, Bed, bed

__all__ = ["bed"]

pytestmark = pytest.mark.umockdev

GPU = "/devices/pci0000:00/0000:00:02.0/0000:01:00.0"
CARD0 = f"{GPU}/drm/card0"
TTY = "/devices/platform/serial8250/tty/ttyS0"


@pytest.fixture
async def served(bed: Bed) -> AsyncIterator[HandlerUnderTest]:
    async with serve_for_test(UdevHandler()) as handler:
        yield handler
    assert not leftover_tasks()


def rules(*texts: str, extra: str = "") -> str:
    quoted = ", ".join("'" + text.replace("'", "''") + "'" for text in texts)
    return f"udevRules: [{quoted}]\n{extra}"


@pytest.mark.parametrize(
    ("rule_texts", "expected"),
    [
        (['KERNEL=="video[0-9]*"'], {VIDEO0: "/dev/video0", VIDEO1: "/dev/video1"}),
        (['ENV{ID_V4L_CAPABILITIES}==":capture:"'], {VIDEO0: "/dev/video0"}),
        (
            ['SUBSYSTEMS=="usb"'],
            {
                USB1: "/dev/bus/usb/001/001",
                CAMERA: "/dev/bus/usb/001/002",  # also the interface, which has no node
                VIDEO0: "/dev/video0",
                VIDEO1: "/dev/video1",
            },
        ),
        (
            ['ATTRS{idVendor}=="046d"'],
            {CAMERA: "/dev/bus/usb/001/002", VIDEO0: "/dev/video0", VIDEO1: "/dev/video1"},
        ),
        (
            ['DRIVERS=="uvcvideo"'],
            {CAMERA: "/dev/bus/usb/001/002", VIDEO0: "/dev/video0", VIDEO1: "/dev/video1"},
        ),
        (['DRIVER=="uvcvideo"'], {CAMERA: "/dev/bus/usb/001/002"}),
        (
            ['SUBSYSTEM!="usb"'],
            {
                PCI: None,
                GPU: None,
                CARD0: "/dev/dri/card0",
                TTY: "/dev/ttyS0",
                VIDEO0: "/dev/video0",
                VIDEO1: "/dev/video1",
            },
        ),
        (['SUBSYSTEMS!="pci"'], {TTY: "/dev/ttyS0"}),
        (['KERNEL=="video[0-9]*", ENV{ID_V4L_CAPABILITIES}!=":capture:"'], {VIDEO1: "/dev/video1"}),
        (['KERNEL!="video.*", SUBSYSTEM=="video4linux"'], {}),
        (['ATTRS{idVendor}=="046d", DRIVERS!="uvcvideo"'], {CAMERA: "/dev/bus/usb/001/002"}),
        (
            ['SUBSYSTEM=="usb", ATTR{idVendor}!="046d"'],
            {USB1: "/dev/bus/usb/001/001", CAMERA: "/dev/bus/usb/001/002"},  # the interface's
        ),
        (['ATTRS{idVendor}!="046d", SUBSYSTEM=="pci"'], {PCI: None, GPU: None}),
        (['TAG=="uaccess"'], {VIDEO0: "/dev/video0"}),
        (['TAGS=="seat", SUBSYSTEM!="video4linux"'], {}),
        (['KERNELS=="0000:01:00.0"'], {GPU: None, CARD0: "/dev/dri/card0"}),
        (['DEVPATH=="/devices/platform/*"'], {TTY: "/dev/ttyS0"}),
        (
            ['KERNEL=="ttyS0"', 'ENV{ID_V4L_CAPABILITIES}==":capture:"'],
            {TTY: "/dev/ttyS0", VIDEO0: "/dev/video0"},
        ),
        (
            ['KERNEL=="video[0-9]*", ENV{ID_V4L_CAPABILITIES}==":capture:"', 'SUBSYSTEMS=="pci"'],
            {
                PCI: None,
                GPU: None,
                CARD0: "/dev/dri/card0",
                USB1: "/dev/bus/usb/001/001",
                CAMERA: "/dev/bus/usb/001/002",
                VIDEO0: "/dev/video0",
                VIDEO1: "/dev/video1",
            },
        ),
    ],
)
def test_rules_select_the_expected_devices(
    bed: Bed, rule_texts: list[str], expected: dict[str, str | None]
) -> None:
    details = parse_details(rules(*rule_texts))
    found = sysfs.scan(pyudev.Context(), details.queries)
    assert {m.devpath: m.devnode for m in found.values()} == expected


async def test_discover_reports_devices_properties_and_specs(served: HandlerUnderTest) -> None:
    details = rules('KERNEL=="video[0-9]*", ENV{ID_V4L_CAPABILITIES}==":capture:"')
    async with served.discover(details) as stream:
        assert await stream.next_list() == (
            Device(
                id=VIDEO0,
                properties={"UDEV_DEVNODE": "/dev/video0", "UDEV_DEVPATH": VIDEO0},
                device_specs=(DeviceSpec("/dev/video0", "/dev/video0", "rwm"),),
            ),
        )


async def test_group_recursive_and_permissions(served: HandlerUnderTest) -> None:
    details = rules('ATTRS{idVendor}=="046d"', extra="groupRecursive: true\npermissions: rw")
    async with served.discover(details) as stream:
        (device,) = await stream.next_list()
    nodes = ("/dev/bus/usb/001/002", "/dev/video0", "/dev/video1")
    assert device == Device(
        id=CAMERA,
        properties={
            "UDEV_DEVNODE_0": nodes[0],
            "UDEV_DEVNODE_1": nodes[1],
            "UDEV_DEVNODE_2": nodes[2],
            "UDEV_DEVPATH": CAMERA,
        },
        device_specs=tuple(DeviceSpec(node, node, "rw") for node in nodes),
    )


async def test_pci_resource_and_vfio_extras(served: HandlerUnderTest) -> None:
    details = rules('SUBSYSTEM=="pci", ATTR{vendor}=="0x10de"')
    properties = {"devicePluginResourceName": b"nvidia.com/gpu", "vfioPassthrough": b"true"}
    async with served.discover(details, properties) as stream:
        (device,) = await stream.next_list()
    assert device.properties == {"UDEV_DEVPATH": GPU, "PCI_RESOURCE_NVIDIA_COM_GPU": "0000:01:00.0"}
    assert [spec.host_path for spec in device.device_specs] == ["/dev/vfio/7", "/dev/vfio/vfio"]


@pytest.mark.parametrize(
    ("details", "message"),
    [
        (rules('KERNEL=="video0"', extra="permissions: xyz"), "permissions: 'xyz' is not a valid"),
        (rules('KERNEL=="video0"', 'NAME="x"'), "udevRules[1]: column 1: field NAME"),
    ],
)
async def test_invalid_details_give_invalid_argument(
    served: HandlerUnderTest, details: str, message: str
) -> None:
    async with served.discover(details) as stream:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stream.next_list()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith(message)


async def test_hot_plug_add_change_and_remove(bed: Bed, served: HandlerUnderTest) -> None:
    testbed = bed.testbed
    details = rules('SUBSYSTEM=="usb", ATTRS{idVendor}=="abcd"')
    async with served.discover(details) as stream:
        assert await stream.next_list() == ()

        started = time.monotonic()
        syspath = bed.plug_usb(
            "1-2",
            vendor="abcd",
            dev="189:5",
            devname="/dev/bus/usb/001/006",
            properties=["DEVTYPE", "usb_device"],
        )
        (added,) = await stream.next_list(within=1.0)
        print(f"add -> DiscoverResponse: {(time.monotonic() - started) * 1000:.1f} ms")
        assert added.id == f"{USB1}/1-2"
        assert added.properties["UDEV_DEVNODE"] == "/dev/bus/usb/001/006"

        testbed.set_attribute(syspath, "idVendor", "beef")
        testbed.uevent(syspath, "change")
        assert await stream.next_list(within=1.0) == ()

        testbed.set_attribute(syspath, "idVendor", "abcd")
        testbed.uevent(syspath, "change")
        assert [d.id for d in await stream.next_list(within=1.0)] == [f"{USB1}/1-2"]

        bed.unplug(syspath)
        assert await stream.next_list(within=1.0) == ()


async def test_a_child_added_under_a_matching_parent_appears(
    bed: Bed, served: HandlerUnderTest
) -> None:
    testbed = bed.testbed
    async with served.discover(rules('DRIVERS=="uvcvideo", SUBSYSTEM=="video4linux"')) as stream:
        assert {d.id for d in await stream.next_list()} == {VIDEO0, VIDEO1}
        testbed.add_device(
            "video4linux",
            "video2",
            f"/sys{INTERFACE}",
            ["dev", "81:2"],
            ["DEVNAME", "/dev/video2"],
        )
        devices = await stream.next_list(within=1.0)
        assert {d.id for d in devices} == {VIDEO0, VIDEO1, f"{INTERFACE}/video2"}


def test_full_scan_and_devices_agree_with_the_stream_shape(bed: Bed) -> None:
    details = parse_details(rules('SUBSYSTEMS=="usb"', extra="groupRecursive: true"))
    devices = build_devices(sysfs.scan(pyudev.Context(), details.queries).values(), details=details)
    assert [d.id for d in devices] == [USB1]
    assert len(devices[0].device_specs) == 4
