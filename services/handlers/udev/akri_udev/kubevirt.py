"""Upstream's KubeVirt extras (PR #788): USB and PCI addresses as broker environment variables.

With ``devicePluginResourceName=R`` a device reports ``USB_RESOURCE_<RES>[_i] = "<bus>:<dev>"`` for a
``/dev/bus/usb/BBB/DDD`` node and, when its devpath has no ``usb*`` segment,
``PCI_RESOURCE_<RES> = <last PCI address in the devpath>``; ``RES`` is ``R`` upper-cased with ``.``
and ``/`` turned into ``_``. With ``vfioPassthrough`` such a PCI device also gets the device specs
``/dev/vfio/<iommu group>`` and ``/dev/vfio/vfio``. Pure functions; reading the IOMMU group is
:mod:`akri_udev.sysfs`'s job.
"""

from __future__ import annotations

import string

USB_RESOURCE_PREFIX = "USB_RESOURCE"
PCI_RESOURCE_PREFIX = "PCI_RESOURCE"
USB_DEVNODE_PREFIX = "/dev/bus/usb/"
VFIO_CONTAINER = "/dev/vfio/vfio"
_HEX = frozenset(string.hexdigits)


def resource_suffix(resource_name: str) -> str:
    """``akri.sh/udev-usb-mouse`` → ``AKRI_SH_UDEV-USB-MOUSE`` (dashes kept)."""
    return "".join("_" if c in "./" else c.upper() for c in resource_name)


def usb_resource_variable(resource_name: str) -> str:
    return f"{USB_RESOURCE_PREFIX}_{resource_suffix(resource_name)}"


def pci_resource_variable(resource_name: str) -> str:
    return f"{PCI_RESOURCE_PREFIX}_{resource_suffix(resource_name)}"


def usb_address(devnode: str) -> str | None:
    """``/dev/bus/usb/001/010`` → ``"1:10"`` (leading zeros stripped); None for other nodes."""
    if not devnode.startswith(USB_DEVNODE_PREFIX):
        return None
    parts = devnode.split("/")
    bus, device = parts[-2], parts[-1]
    if not (_decimal(bus) and _decimal(device)):
        return None
    return f"{int(bus)}:{int(device)}"


def _decimal(text: str) -> bool:
    return bool(text) and text.isascii() and text.isdigit()


def is_usb_devpath(devpath: str) -> bool:
    """True when any segment of the devpath starts with ``usb`` (upstream's test)."""
    return any(segment.startswith("usb") for segment in devpath.split("/"))


def is_pci_address(segment: str) -> bool:
    """``0000:00:14.0``: domain, bus, slot and function, each non-empty hexadecimal."""
    parts = segment.split(":", 2)
    if len(parts) != 3:
        return False
    slot_function = parts[2].split(".", 1)
    if len(slot_function) != 2:
        return False
    return all(seg and set(seg) <= _HEX for seg in (parts[0], parts[1], *slot_function))


def pci_address(devpath: str) -> str | None:
    """The last PCI address segment of a devpath, if any."""
    found = [segment for segment in devpath.split("/") if is_pci_address(segment)]
    return found[-1] if found else None


def vfio_group_node(iommu_group: str) -> str:
    return f"/dev/vfio/{iommu_group}"
