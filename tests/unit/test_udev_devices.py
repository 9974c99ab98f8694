"""Details, devices, grouping, permissions and the KubeVirt extras (pure)."""

from __future__ import annotations

import pytest

from akri_common.devices import Device, DeviceSpec
from akri_common.settings import SettingsError
from akri_handler_sdk.errors import InvalidDetailsError
from akri_handler_sdk.protocol import DiscoveryHandler
from akri_udev import kubevirt
from akri_udev.details import UdevDetails, parse_details
from akri_udev.devices import build_devices, group_matches
from akri_udev.handler import UdevHandler
from akri_udev.matching import Match
from akri_udev.settings import UdevSettings

CAMERA = "/devices/pci0000:00/0000:00:14.0/usb1/1-1"
VIDEO0 = f"{CAMERA}/1-1:1.0/video4linux/video0"
VIDEO1 = f"{CAMERA}/1-1:1.0/video4linux/video1"
GPU = "/devices/pci0000:00/0000:00:02.0/0000:01:00.0"


def details(text: str = "udevRules: []", **properties: bytes) -> UdevDetails:
    return parse_details(text, properties)


def test_defaults() -> None:
    parsed = details('udevRules: ["KERNEL==\\"video0\\""]')
    assert (parsed.group_recursive, parsed.permissions, parsed.resource_name) == (
        False,
        "rwm",
        None,
    )
    assert not parsed.vfio_passthrough
    assert len(parsed.queries) == 1


@pytest.mark.parametrize("permissions", ["r", "w", "m", "rw", "rm", "wm", "rwm"])
def test_valid_permissions(permissions: str) -> None:
    assert details(f"udevRules: []\npermissions: {permissions}").permissions == permissions


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "discoveryDetails: expected a mapping with a udevRules list, got nothing"),
        ("udevRules: [", "discoveryDetails: not valid YAML or JSON"),
        ("groupRecursive: true", "udevRules: is required"),
        ("udevRules: KERNEL", "udevRules: expected a list of strings, got 'KERNEL'"),
        ("udevRules: []\ngroupRecursive: maybe", "groupRecursive: expected true or false"),
        ("udevRules: []\npermissions: xyz", "permissions: 'xyz' is not a valid permission"),
        ("udevRules: []\npermissions: mw", "permissions: 'mw' is not a valid permission"),
        ("udevRules: []\npermissions: ''", "permissions: '' is not a valid permission"),
        (
            "udevRules: ['KERNEL==\"video0\"', 'KERNEL = \"x\"']",
            "udevRules[1]: column 7: no space is allowed between KERNEL and its operator"
            " (in 'KERNEL = \"x\"')",
        ),
        (
            "udevRules: ['DRIVERS==\"[\"']",
            "udevRules[0]: column 11: the value of DRIVERS== is not a valid regular expression",
        ),
    ],
)
def test_invalid_details_name_the_field(text: str, message: str) -> None:
    with pytest.raises(InvalidDetailsError) as caught:
        details(text)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(b"true", True), (b" TRUE ", True), (b"True", True), (b"yes", False), (b"\xff", False)],
)
def test_vfio_passthrough_property(value: bytes, expected: bool) -> None:
    assert details(vfioPassthrough=value).vfio_passthrough is expected


def test_single_devices_have_one_node_and_the_configured_permissions() -> None:
    devices = build_devices(
        [Match(VIDEO0, "/dev/video0"), Match(GPU)],
        details=details("udevRules: []\npermissions: rw"),
    )
    assert devices == (
        Device(id=GPU, properties={"UDEV_DEVPATH": GPU}),
        Device(
            id=VIDEO0,
            properties={"UDEV_DEVNODE": "/dev/video0", "UDEV_DEVPATH": VIDEO0},
            device_specs=(DeviceSpec("/dev/video0", "/dev/video0", "rw"),),
        ),
    )


def test_group_recursive_merges_under_the_top_most_devpath_in_a_stable_order() -> None:
    members = [
        Match(VIDEO1, "/dev/video1"),
        Match(CAMERA, "/dev/bus/usb/001/002"),
        Match(VIDEO0, "/dev/video0"),
        Match(f"{CAMERA}0", "/dev/bus/usb/001/009"),  # "1-10": a sibling, not a child
    ]
    for order in (members, list(reversed(members))):
        (camera, sibling) = build_devices(
            order, details=details("udevRules: []\ngroupRecursive: true")
        )
        assert camera == Device(
            id=CAMERA,
            properties={
                "UDEV_DEVNODE_0": "/dev/bus/usb/001/002",
                "UDEV_DEVNODE_1": "/dev/video0",
                "UDEV_DEVNODE_2": "/dev/video1",
                "UDEV_DEVPATH": CAMERA,
            },
            device_specs=tuple(
                DeviceSpec(node, node, "rwm")
                for node in ("/dev/bus/usb/001/002", "/dev/video0", "/dev/video1")
            ),
        )
        assert sibling.properties["UDEV_DEVNODE_0"] == "/dev/bus/usb/001/009"


def test_without_group_recursive_children_stay_separate() -> None:
    groups = group_matches([Match(CAMERA, "/dev/a"), Match(VIDEO0, "/dev/b")], recursive=False)
    assert sorted(groups) == [CAMERA, VIDEO0]


def test_usb_resource_extra() -> None:
    parsed = details(
        "udevRules: []\ngroupRecursive: true", devicePluginResourceName=b"akri.sh/udev-usb-camera"
    )
    (device,) = build_devices(
        [Match(CAMERA, "/dev/bus/usb/001/002"), Match(VIDEO0, "/dev/video0")], details=parsed
    )
    assert device.properties["USB_RESOURCE_AKRI_SH_UDEV-USB-CAMERA_0"] == "1:2"
    assert "USB_RESOURCE_AKRI_SH_UDEV-USB-CAMERA_1" not in device.properties
    assert not any(key.startswith("PCI_RESOURCE") for key in device.properties)


def test_pci_resource_and_vfio_extras() -> None:
    parsed = details(devicePluginResourceName=b"nvidia.com/gpu", vfioPassthrough=b"true")
    (device,) = build_devices([Match(GPU)], details=parsed, iommu_group={GPU: "7"}.get)
    assert device.properties["PCI_RESOURCE_NVIDIA_COM_GPU"] == "0000:01:00.0"
    assert device.device_specs == (
        DeviceSpec("/dev/vfio/7", "/dev/vfio/7", "rwm"),
        DeviceSpec("/dev/vfio/vfio", "/dev/vfio/vfio", "rwm"),
    )
    without_group = build_devices([Match(GPU)], details=parsed, iommu_group=lambda _: None)
    assert without_group[0].device_specs == ()


@pytest.mark.parametrize(
    ("devnode", "address"),
    [
        ("/dev/bus/usb/001/010", "1:10"),
        ("/dev/bus/usb/1/5", "1:5"),
        ("/dev/bus/usb/abc/def", None),
        ("/dev/bus/usb/", None),
        ("/dev/video0", None),
    ],
)
def test_usb_address(devnode: str, address: str | None) -> None:
    assert kubevirt.usb_address(devnode) == address


@pytest.mark.parametrize(
    ("devpath", "address"),
    [
        ("/devices/pci0000:00/0000:00:01.0/0000:01:00.0", "0000:01:00.0"),
        ("/devices/pci0000:00/0000:03:00.0", "0000:03:00.0"),
        ("/devices/platform/serial8250", None),
    ],
)
def test_pci_address(devpath: str, address: str | None) -> None:
    assert kubevirt.pci_address(devpath) == address


def test_resource_variable_names() -> None:
    assert kubevirt.usb_resource_variable("akri.sh/udev-usb-keyboard") == (
        "USB_RESOURCE_AKRI_SH_UDEV-USB-KEYBOARD"
    )
    assert kubevirt.pci_resource_variable("vendor.io/device") == "PCI_RESOURCE_VENDOR_IO_DEVICE"


def test_handler_identity_and_protocol() -> None:
    handler: DiscoveryHandler[UdevDetails] = UdevHandler()
    assert (handler.name, handler.shared) == ("udev", False)


def test_settings() -> None:
    assert UdevSettings.from_environment({}) == UdevSettings(resync_seconds=300)
    assert (
        UdevSettings.from_environment({"UDEV_RESYNC_INTERVAL_SECONDS": "60"}).resync_seconds == 60
    )
    with pytest.raises(SettingsError, match="UDEV_RESYNC_INTERVAL_SECONDS"):
        UdevSettings.from_environment({"UDEV_RESYNC_INTERVAL_SECONDS": "0"})
    with pytest.raises(SettingsError, match="UDEV_MONITOR_SOURCE"):
        UdevSettings.from_environment({"UDEV_MONITOR_SOURCE": "netlink"})
