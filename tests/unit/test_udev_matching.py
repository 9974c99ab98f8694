"""Pure matching decisions over device records: libudev globs, upstream's regexes, ancestors."""

from __future__ import annotations

import pytest

from akri_udev.inventory import plan, without_subtree
from akri_udev.matching import DeviceRecord, Match, glob, matches, matches_any, resolve
from akri_udev.monitor import Uevent
from akri_udev.query import compile_rule, compile_rules
from akri_udev.rules import parse_rule, parse_rules

PCI = DeviceRecord(
    devpath="/devices/pci0000:00/0000:00:14.0",
    sysname="0000:00:14.0",
    subsystem="pci",
    driver="xhci_hcd",
    attributes={"vendor": "0x8086"},
)
USB = DeviceRecord(
    devpath=f"{PCI.devpath}/usb1/1-1",
    sysname="1-1",
    subsystem="usb",
    driver="usb",
    devnode="/dev/bus/usb/001/002",
    attributes={"idVendor": "046d", "idProduct": "082d"},
    parent=PCI,
)
INTERFACE = DeviceRecord(
    devpath=f"{USB.devpath}/1-1:1.0",
    sysname="1-1:1.0",
    subsystem="usb",
    driver="uvcvideo",
    parent=USB,
)
VIDEO0 = DeviceRecord(
    devpath=f"{INTERFACE.devpath}/video4linux/video0",
    sysname="video0",
    subsystem="video4linux",
    devnode="/dev/video0",
    properties={"ID_V4L_CAPABILITIES": ":capture:", "TAGS": ":uaccess:seat:"},
    parent=INTERFACE,
)
VIDEO1 = DeviceRecord(
    devpath=f"{INTERFACE.devpath}/video4linux/video1",
    sysname="video1",
    subsystem="video4linux",
    devnode="/dev/video1",
    properties={"ID_V4L_CAPABILITIES": ":"},
    parent=INTERFACE,
)
TTY = DeviceRecord(
    devpath="/devices/platform/serial8250/tty/ttyS0",
    sysname="ttyS0",
    subsystem="tty",
    devnode="/dev/ttyS0",
)
NO_SUBSYSTEM = DeviceRecord(devpath="/devices/pci0000:00", sysname="pci0000:00")
ALL = {
    "pci": PCI,
    "usb": USB,
    "interface": INTERFACE,
    "video0": VIDEO0,
    "video1": VIDEO1,
    "tty": TTY,
    "root": NO_SUBSYSTEM,
}


def matched(rule: str) -> list[str]:
    query = compile_rule(parse_rule(rule))
    return sorted(name for name, record in ALL.items() if matches(query, record))


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("", ["interface", "pci", "tty", "usb", "video0", "video1"]),
        ('KERNEL=="video[0-9]*"', ["video0", "video1"]),
        ('KERNEL=="video?"', ["video0", "video1"]),
        ('KERNEL!="video[0-9]*"', ["interface", "pci", "tty", "usb"]),
        ('KERNEL!="video"', ["interface", "pci", "tty", "usb", "video0", "video1"]),
        ('ENV{ID_V4L_CAPABILITIES}==":capture:"', ["video0"]),
        ('ENV{ID_V4L_*}==":cap*"', ["video0"]),
        ('ENV{ID_V4L_CAPABILITIES}!=":capture:"', ["interface", "pci", "tty", "usb", "video1"]),
        ('ENV{ID_V4L_CAPABILITIES}==":capture:", ENV{TAGS}=="nothing"', ["video0"]),
        ('SUBSYSTEM=="usb"', ["interface", "usb"]),
        ('SUBSYSTEM=="usb", SUBSYSTEM=="tty"', ["interface", "tty", "usb"]),
        ('SUBSYSTEM!="usb"', ["pci", "tty", "video0", "video1"]),
        ('SUBSYSTEMS=="usb"', ["interface", "usb", "video0", "video1"]),
        ('SUBSYSTEMS!="usb"', ["pci", "tty"]),
        ('SUBSYSTEMS=="pc"', []),
        ('ATTR{idVendor}=="046d"', ["usb"]),
        ('ATTR{idVendor}=="04*"', ["usb"]),
        ('ATTR{idVendor}!="046d"', ["interface", "pci", "tty", "video0", "video1"]),
        ('ATTRS{idVendor}=="046d"', ["interface", "usb", "video0", "video1"]),
        ('ATTRS{idVendor}=="04.d"', ["interface", "usb", "video0", "video1"]),
        ('ATTRS{idVendor}=="04"', []),
        ('ATTRS{idVendor}!="046d"', ["pci", "tty"]),
        ('DRIVER=="uvcvideo"', ["interface"]),
        ('DRIVER!="uvcvideo"', ["pci", "tty", "usb", "video0", "video1"]),
        ('DRIVERS=="uvcvideo"', ["interface", "video0", "video1"]),
        ('DRIVERS!="uvcvideo"', ["pci", "tty", "usb"]),
        ('KERNELS=="1-1"', ["interface", "usb", "video0", "video1"]),
        ('KERNELS!="1-1"', ["pci", "tty"]),
        ('TAG=="uaccess"', ["video0"]),
        ('TAG=="uacc*"', []),
        ('TAG!="seat"', ["interface", "pci", "tty", "usb", "video1"]),
        ('TAGS=="seat"', ["video0"]),
        ('TAGS!="seat"', ["interface", "pci", "tty", "usb", "video1"]),
        ('DEVPATH=="/devices/platform/*"', ["tty"]),
        ('DEVPATH!="/devices/pci.*"', ["tty"]),
        ('KERNEL=="video[0-9]*", ENV{ID_V4L_CAPABILITIES}==":capture:"', ["video0"]),
        ('KERNEL=="video[0-9]*", ENV{ID_V4L_CAPABILITIES}!=":capture:"', ["video1"]),
        ('ATTRS{idVendor}=="046d", DRIVERS!="uvcvideo"', ["usb"]),
        ('SUBSYSTEM=="usb", ATTR{idVendor}!="046d"', ["interface"]),
        ('SUBSYSTEMS=="pci", KERNEL!="video.*", DRIVER=="usb|xhci_hcd"', ["pci", "usb"]),
    ],
)
def test_rule_matches(rule: str, expected: list[str]) -> None:
    assert matched(rule) == expected


def test_a_device_matches_when_any_rule_does() -> None:
    queries = compile_rules(parse_rules(['KERNEL=="ttyS0"', 'DRIVER=="uvcvideo"']))
    assert [n for n, r in ALL.items() if matches_any(queries, r)] == ["interface", "tty"]


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*", "a/b", True),
        ("video[0-9]*", "video12", True),
        ("video[0-9]*", "myvideo1", False),
        ("a?c", "abc", True),
        ("[!a]", "b", True),
        ("[^a]", "a", False),
        ("046d", "046D", False),
    ],
)
def test_glob_follows_fnmatch(pattern: str, text: str, expected: bool) -> None:
    assert glob(pattern, text) is expected


def test_regular_expressions_must_match_the_whole_string_as_upstream_finds_them() -> None:
    # Upstream takes the leftmost match and checks that it spans the string, so "a|ab" does not
    # match "ab" while a fullmatch would.
    assert matched('KERNEL!="ttyS|ttyS0"') == matched("")
    assert "tty" not in matched('KERNEL!="ttyS0|ttyS"')


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (VIDEO0, Match(VIDEO0.devpath, "/dev/video0")),
        (INTERFACE, Match(USB.devpath, "/dev/bus/usb/001/002")),
        (PCI, Match(PCI.devpath)),
    ],
)
def test_resolve_falls_back_to_the_nearest_ancestor_with_a_node(
    record: DeviceRecord, expected: Match
) -> None:
    assert resolve(record) == expected


@pytest.mark.parametrize(
    ("event", "drop", "rescan"),
    [
        (Uevent("add", "/devices/a"), ("/devices/a",), "/devices/a"),
        (Uevent("change", "/devices/a"), ("/devices/a",), "/devices/a"),
        (Uevent("remove", "/devices/a"), ("/devices/a",), None),
        (Uevent("move", "/devices/b", "/devices/a"), ("/devices/a", "/devices/b"), "/devices/b"),
    ],
)
def test_plan_for_a_uevent(event: Uevent, drop: tuple[str, ...], rescan: str | None) -> None:
    step = plan(event)
    assert (step.drop, step.rescan) == (drop, rescan)


def test_without_subtree_respects_path_boundaries() -> None:
    found = {
        "/devices/usb1/1-1": Match("/devices/usb1/1-1"),
        "/devices/usb1/1-1/1-1:1.0": Match("/devices/usb1/1-1"),
        "/devices/usb1/1-10": Match("/devices/usb1/1-10"),
    }
    assert list(without_subtree(found, "/devices/usb1/1-1")) == ["/devices/usb1/1-10"]
