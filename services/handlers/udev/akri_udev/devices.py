"""From matched ``(devpath, devnode)`` pairs to the Akri devices the agent receives (pure).

Without ``groupRecursive`` there is one device per devpath; with it, devices whose devpath lies under
another's are merged under the top-most one (a path prefix at a ``/`` boundary). A device's id is its
devpath; its properties are ``UDEV_DEVNODE`` (``UDEV_DEVNODE_<i>`` when grouped, numbered over the
group's nodes in devpath order, so the numbering is stable unlike upstream's hash-set order) and
``UDEV_DEVPATH``; each node is a device spec with the configured permissions. The KubeVirt extras of
:mod:`akri_udev.kubevirt` are added when a resource name is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from akri_common.devices import Device, DeviceSpec
from akri_udev import kubevirt
from akri_udev.details import UdevDetails
from akri_udev.matching import Match

DEVNODE_PROPERTY = "UDEV_DEVNODE"
DEVPATH_PROPERTY = "UDEV_DEVPATH"
#: Upstream's permissions for the VFIO specs (spec §6.1).
VFIO_PERMISSIONS = "rwm"

IommuGroupReader = Callable[[str], "str | None"]


def is_under(devpath: str, root: str) -> bool:
    """True when ``devpath`` is ``root`` or lies below it."""
    return devpath == root or devpath.startswith(root.rstrip("/") + "/")


def group_matches(matches: Iterable[Match], *, recursive: bool) -> dict[str, tuple[Match, ...]]:
    """Groups the matches by the devpath that becomes the device id, members in devpath order."""
    ordered = sorted(set(matches), key=lambda m: (m.devpath, m.devnode or ""))
    groups: dict[str, list[Match]] = {}
    for match in ordered:
        root = match.devpath
        if recursive:
            # Sorted, so an ancestor always comes before its descendants.
            root = next((r for r in groups if is_under(match.devpath, r)), match.devpath)
        groups.setdefault(root, []).append(match)
    return {root: tuple(members) for root, members in groups.items()}


def build_device(
    root: str,
    members: tuple[Match, ...],
    *,
    details: UdevDetails,
    iommu_group: IommuGroupReader | None = None,
) -> Device:
    """One Akri device for a group (or a single match)."""
    properties: dict[str, str] = {}
    specs: list[DeviceSpec] = []
    nodes = list(dict.fromkeys(m.devnode for m in members if m.devnode is not None))
    usb_variable = (
        kubevirt.usb_resource_variable(details.resource_name) if details.resource_name else None
    )
    for i, node in enumerate(nodes):
        suffix = f"_{i}" if details.group_recursive else ""
        properties[DEVNODE_PROPERTY + suffix] = node
        address = kubevirt.usb_address(node)
        if usb_variable is not None and address is not None:
            properties[usb_variable + suffix] = address
        specs.append(
            DeviceSpec(container_path=node, host_path=node, permissions=details.permissions)
        )
    properties[DEVPATH_PROPERTY] = root
    if details.resource_name and not kubevirt.is_usb_devpath(root):
        address = kubevirt.pci_address(root)
        if address is not None:
            properties[kubevirt.pci_resource_variable(details.resource_name)] = address
            group = iommu_group(root) if details.vfio_passthrough and iommu_group else None
            if group is not None:
                for node in (kubevirt.vfio_group_node(group), kubevirt.VFIO_CONTAINER):
                    specs.append(
                        DeviceSpec(
                            container_path=node, host_path=node, permissions=VFIO_PERMISSIONS
                        )
                    )
    return Device(id=root, properties=properties, device_specs=tuple(specs))


def build_devices(
    matches: Iterable[Match],
    *,
    details: UdevDetails,
    iommu_group: IommuGroupReader | None = None,
) -> tuple[Device, ...]:
    """The device list for the agent, sorted by id."""
    groups = group_matches(matches, recursive=details.group_recursive)
    return tuple(
        build_device(root, members, details=details, iommu_group=iommu_group)
        for root, members in sorted(groups.items())
    )
