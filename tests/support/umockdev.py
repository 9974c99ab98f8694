"""The fake udev world of udev tests: a ``UMockdev.Testbed`` holding the camera tree, and hot-plugging.

Only modules marked ``umockdev`` import this one (it loads ``gi`` and the UMockdev typelib); their
tests run under ``umockdev-wrapper``, whose preload points libudev at the testbed. ``camera_bed()``
skips the test without the preload, loads ``tests/data/udev/camera.umockdev`` and drops the testbed
for sure on exit; the ``bed`` fixture is that for one test (import it into a test module and list it
in ``__all__``). The tree holds a USB camera (video0 capture node, video1 metadata node), its
interface (driver uvcvideo), its USB device (046d, /dev/bus/usb/001/002) and root hub under a PCI
controller, a PCI GPU bound to vfio-pci with its IOMMU group, and a serial port.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gi
import pytest

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

TREE = Path(__file__).parents[1] / "data" / "udev" / "camera.umockdev"
PCI = "/devices/pci0000:00/0000:00:14.0"
USB1 = f"{PCI}/usb1"
CAMERA = f"{USB1}/1-1"
INTERFACE = f"{CAMERA}/1-1:1.0"
VIDEO0 = f"{INTERFACE}/video4linux/video0"
VIDEO1 = f"{INTERFACE}/video4linux/video1"


class Bed:
    """Holds the one ``UMockdev.Testbed`` of a test, so that teardown can drop it for sure."""

    def __init__(self, tree: Path = TREE) -> None:
        self.testbed: Any = UMockdev.Testbed.new()
        assert self.testbed.add_from_file(str(tree))
        self.root: str = self.testbed.get_root_dir()

    def plug_usb(
        self, name: str, *, vendor: str, dev: str, devname: str, properties: Sequence[str] = ()
    ) -> str:
        """Adds USB device ``name`` (``idVendor`` ``vendor``, ``dev`` ``major:minor``, node
        ``devname``, then ``properties`` as name, value, ...) under the root hub ``USB1``, with its
        ``add`` uevent; returns its syspath."""
        syspath: str = self.testbed.add_device(
            "usb",
            name,
            f"/sys{USB1}",
            ["idVendor", vendor, "dev", dev],
            ["DEVNAME", devname, *properties],
        )
        return syspath

    def unplug(self, syspath: str) -> None:
        """Sends the ``remove`` uevent of ``syspath`` (``/sys/...``) and removes it from the tree."""
        self.testbed.uevent(syspath, "remove")
        self.testbed.remove_device(syspath)

    def close(self) -> None:
        self.testbed = None
        gc.collect()


@contextlib.contextmanager
def camera_bed(runner: str = "make test") -> Iterator[Bed]:
    """The camera tree in a fresh testbed, dropped on exit; skips the test without the umockdev
    preload (the skip reason names ``runner``, what runs pytest under ``umockdev-wrapper``)."""
    if "umockdev" not in os.environ.get("LD_PRELOAD", ""):
        pytest.skip(
            f"needs the umockdev preload: run pytest under umockdev-wrapper ({runner} does)"
        )
    bed = Bed()
    try:
        yield bed
    finally:
        bed.close()


@pytest.fixture
def bed() -> Iterator[Bed]:
    """The camera tree of one test (see ``camera_bed``)."""
    with camera_bed() as testbed:
        yield testbed
