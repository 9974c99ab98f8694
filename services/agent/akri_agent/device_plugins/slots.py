"""Slots and their usage: health lists, claim decisions, and the assignment of the
configuration-level plugin's virtual ids. Pure: no I/O, no clock.

An Instance has ``capacity`` slots ``<instance>-<n>``; the ``deviceUsage`` wire format (``<node>``,
``C:<virtual-id>:<node>``) is parsed and rendered in ``akri_common.crds.usage`` only, re-exported
here for the plugins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from akri_common.crds.usage import ConfigurationUsage, NodeUsage, Usage, render_usage
from akri_common.ids import ConfigurationName, InstanceName, NodeName

HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"


class UnknownDeviceIdError(ValueError):
    """kubelet asked for a device id this plugin does not advertise."""

    def __init__(self, plugin: str, device_id: str) -> None:
        self.plugin = plugin
        self.device_id = device_id
        super().__init__(f"device id {device_id!r} is not a slot of akri.sh/{plugin}")


@dataclass(frozen=True)
class DeviceState:
    """One device as ``ListAndWatch`` reports it."""

    id: str
    healthy: bool

    @property
    def health(self) -> str:
        return HEALTHY if self.healthy else UNHEALTHY


def is_owned(usage: Usage, node: NodeName) -> bool:
    """Whether ``node``'s field manager is the one that wrote this usage."""
    return usage.node == node


def slot_id(instance: InstanceName, index: int) -> str:
    return f"{instance}-{index}"


def slot_ids(instance: InstanceName, capacity: int) -> tuple[str, ...]:
    return tuple(slot_id(instance, i) for i in range(max(capacity, 0)))


def slot_index(instance: InstanceName, capacity: int, device_id: str) -> int:
    """The ``n`` of ``<instance>-<n>`` (``n < capacity``); ``UnknownDeviceIdError`` otherwise."""
    prefix = f"{instance}-"
    tail = device_id[len(prefix) :] if device_id.startswith(prefix) else ""
    if not tail.isdigit() or str(int(tail)) != tail or int(tail) >= capacity:
        raise UnknownDeviceIdError(instance, device_id)
    return int(tail)


def instance_devices(
    *, instance: InstanceName, capacity: int, usage: Mapping[str, Usage], node: NodeName
) -> tuple[DeviceState, ...]:
    """The instance-level plugin's list: free or used by this node's instance plugin → healthy;
    used by another node or through any configuration-level plugin → unhealthy."""
    return tuple(
        DeviceState(id=slot, healthy=_instance_healthy(usage.get(slot), node))
        for slot in slot_ids(instance, capacity)
    )


def _instance_healthy(usage: Usage | None, node: NodeName) -> bool:
    return usage is None or usage == NodeUsage(node=node)


@dataclass(frozen=True)
class Claim:
    """Write ``usage`` for ``slot``."""

    slot: str


@dataclass(frozen=True)
class AlreadyHeld:
    """The slot already has exactly this usage: nothing to write."""

    slot: str


@dataclass(frozen=True)
class Taken:
    """Someone else holds the slot."""

    slot: str
    holder: str


ClaimDecision = Claim | AlreadyHeld | Taken


def decide_claim(slot: str, wanted: Usage, current: Usage | None) -> ClaimDecision:
    """A slot can be claimed when free, and is kept when it already has the wanted usage."""
    if current is None:
        return Claim(slot)
    if current == wanted:
        return AlreadyHeld(slot)
    return Taken(slot, render_usage(current))


def free_slots(
    instance: InstanceName, capacity: int, usage: Mapping[str, Usage]
) -> tuple[str, ...]:
    return tuple(slot for slot in slot_ids(instance, capacity) if slot not in usage)


# -- the configuration-level plugin -----------------------------------------------------------


@dataclass(frozen=True)
class MemberSlots:
    """One Instance of the configuration-level plugin, as that plugin needs to see it."""

    instance: InstanceName
    capacity: int
    usage: Mapping[str, Usage]


@dataclass(frozen=True)
class UsedVirtual:
    instance: InstanceName
    slot: str


@dataclass(frozen=True)
class VirtualSlots:
    """Virtual ids of a configuration-level plugin: those in use on this node (each backed by one
    real slot) and at most one free id per Instance that has a free real slot."""

    used: Mapping[str, UsedVirtual] = field(default_factory=dict)
    free: Mapping[str, InstanceName] = field(default_factory=dict)

    def free_by_instance(self) -> dict[InstanceName, str]:
        return {instance: vid for vid, instance in self.free.items()}


def virtual_id(configuration: ConfigurationName, index: int) -> str:
    return f"{configuration}-{index}"


def assign_virtual_slots(
    *,
    configuration: ConfigurationName,
    members: Sequence[MemberSlots],
    node: NodeName,
    previous: VirtualSlots,
) -> VirtualSlots:
    """The virtual ids to advertise now.

    Used ids come from ``deviceUsage`` (``C:<id>:<this node>``). An Instance with a free real slot
    keeps the free id it had (so kubelet does not see ids churn) unless that id is now used;
    otherwise it gets the lowest unused ``<configuration>-<m>``.
    """
    used: dict[str, UsedVirtual] = {}
    for member in sorted(members, key=lambda m: m.instance):
        for slot, usage in sorted(member.usage.items()):
            if isinstance(usage, ConfigurationUsage) and usage.node == node:
                used.setdefault(usage.virtual_id, UsedVirtual(member.instance, slot))
    kept = previous.free_by_instance()
    free: dict[str, InstanceName] = {}
    wanting: list[InstanceName] = []
    for member in sorted(members, key=lambda m: m.instance):
        if not free_slots(member.instance, member.capacity, member.usage):
            continue
        vid = kept.get(member.instance)
        if vid is not None and vid not in used and vid not in free:
            free[vid] = member.instance
        else:
            wanting.append(member.instance)
    taken = set(used) | set(free)
    for instance, vid in zip(wanting, _unused_ids(configuration, taken), strict=False):
        free[vid] = instance
    return VirtualSlots(used=used, free=free)


def _unused_ids(configuration: ConfigurationName, taken: set[str]) -> Iterable[str]:
    index = 0
    while True:
        vid = virtual_id(configuration, index)
        if vid not in taken:
            yield vid
        index += 1


def configuration_devices(
    virtual: VirtualSlots, *, used_healthy: bool = False
) -> tuple[DeviceState, ...]:
    """Free virtual ids are healthy; used ones unhealthy (so kubelet does not offer an id that is
    still held while the reclaimer waits, upstream #849) unless ``used_healthy``."""
    devices = [DeviceState(vid, healthy=used_healthy) for vid in virtual.used]
    devices += [DeviceState(vid, healthy=True) for vid in virtual.free]
    return tuple(sorted(devices, key=lambda d: _natural(d.id)))


def _natural(text: str) -> tuple[str, int]:
    head, _, tail = text.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (text, -1)


@dataclass(frozen=True)
class ReuseVirtual:
    """The id is already backed by this slot on this node: kubelet offers it again (init and main
    container of one pod, upstream #843, or a pod that replaced the one kubelet released it from),
    and kubelet never gives one device to two live containers, so the claim is reused."""

    instance: InstanceName
    slot: str


@dataclass(frozen=True)
class ClaimVirtual:
    """Claim one of ``candidates`` (free real slots of ``instance``, in order) for the id."""

    instance: InstanceName
    candidates: tuple[str, ...]


VirtualDecision = ReuseVirtual | ClaimVirtual


def decide_virtual_claim(
    *,
    configuration: ConfigurationName,
    virtual: VirtualSlots,
    members: Sequence[MemberSlots],
    virtual_id_requested: str,
) -> VirtualDecision:
    """What to do for one virtual id kubelet asks for; ``UnknownDeviceIdError`` if not advertised
    or its Instance has no free slot left."""
    used = virtual.used.get(virtual_id_requested)
    if used is not None:
        return ReuseVirtual(used.instance, used.slot)
    instance = virtual.free.get(virtual_id_requested)
    member = next((m for m in members if m.instance == instance), None)
    if instance is None or member is None:
        raise UnknownDeviceIdError(configuration, virtual_id_requested)
    candidates = free_slots(member.instance, member.capacity, member.usage)
    if not candidates:
        raise UnknownDeviceIdError(configuration, virtual_id_requested)
    return ClaimVirtual(instance, candidates)
