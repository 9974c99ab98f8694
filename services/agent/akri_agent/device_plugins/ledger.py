"""One Instance's slots as this node sees them, and the writes of this node's own ``deviceUsage``.

Other nodes' entries come from the watched Instance; this node's entries are what this node last
applied (``held``), initialised from the Instance when the ledger is created. Every write is a
server-side apply, with field manager ``dp-<node>`` and no force, of the whole set this node holds,
so that adding a key claims it (another owner → HTTP 409 → the slot is taken) and leaving a key out
frees it. Writes to one Instance are serialised by a lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import structlog

from akri_agent.device_plugins.errors import SlotUnavailableError, SlotWriteError
from akri_agent.device_plugins.slots import AlreadyHeld, Claim, decide_claim, is_owned
from akri_common.crds import API_VERSION
from akri_common.crds.instance import KIND
from akri_common.crds.usage import Usage, parse_device_usage, render_usage
from akri_common.ids import ConfigurationName, InstanceName, NodeName
from akri_common.k8s.errors import ApiError, ConflictError, InvalidError, NotFoundError
from akri_common.k8s.objects import INSTANCE, JsonObject, Objects

log = structlog.get_logger(__name__)


def field_manager(node: NodeName) -> str:
    return f"dp-{node}"


def usage_patch(
    *, name: InstanceName, namespace: str, held: Mapping[str, Usage]
) -> dict[str, object]:
    """The partial Instance this node applies: only its own ``deviceUsage`` keys."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"deviceUsage": {slot: render_usage(u) for slot, u in sorted(held.items())}},
    }


@dataclass(frozen=True)
class InstanceSnapshot:
    """What the ledger needs from the watched Instance."""

    name: InstanceName
    namespace: str
    configuration: ConfigurationName
    capacity: int
    broker_properties: Mapping[str, str]
    usage: Mapping[str, Usage]

    @classmethod
    def of(cls, obj: JsonObject) -> InstanceSnapshot:
        metadata = obj.get("metadata", {})
        spec = obj.get("spec") or {}
        usage, errors = parse_device_usage(spec.get("deviceUsage") or {})
        for err in errors:
            log.warning(
                "device_usage_unreadable",
                instance=metadata.get("name"),
                slot=err.slot,
                value=err.value,
            )
        return cls(
            name=InstanceName(metadata["name"]),
            namespace=str(metadata.get("namespace", "")),
            configuration=ConfigurationName(str(spec.get("configurationName", ""))),
            capacity=int(spec.get("capacity", 1)),
            broker_properties={
                str(k): str(v) for k, v in (spec.get("brokerProperties") or {}).items()
            },
            usage=usage,
        )


class InstanceLedger:
    def __init__(
        self,
        *,
        node: NodeName,
        objects: Objects,
        snapshot: InstanceSnapshot,
        on_change: Callable[[], None],
    ) -> None:
        self.node = node
        self._objects = objects
        self.snapshot = snapshot
        self._on_change = on_change
        self.held: dict[str, Usage] = {
            slot: u for slot, u in snapshot.usage.items() if is_owned(u, node)
        }
        self._lock = asyncio.Lock()

    @property
    def name(self) -> InstanceName:
        return self.snapshot.name

    def usage(self) -> dict[str, Usage]:
        """Every used slot: other nodes' from the Instance, this node's from what it applied."""
        merged = {s: u for s, u in self.snapshot.usage.items() if not is_owned(u, self.node)}
        merged.update(self.held)
        return merged

    def update(self, snapshot: InstanceSnapshot) -> None:
        """A newer Instance from the watch (capacity, properties, other nodes' usage)."""
        changed = snapshot != self.snapshot
        self.snapshot = snapshot
        if changed:
            self._on_change()

    async def claim(self, slot: str, usage: Usage) -> bool:
        """Claims ``slot`` with ``usage``; ``False`` when it already had exactly that usage.

        Raises ``SlotUnavailableError`` when someone else holds it (here or per the API server's
        409) and ``SlotWriteError`` when the write failed otherwise.
        """
        async with self._lock:
            decision = decide_claim(slot, usage, self.usage().get(slot))
            if isinstance(decision, AlreadyHeld):
                return False
            if not isinstance(decision, Claim):
                raise SlotUnavailableError(
                    instance=self.name, slot=slot, reason=f"in use ({decision.holder})"
                )
            wanted = dict(self.held)
            wanted[slot] = usage
            try:
                await self._apply(wanted)
            except ConflictError as err:
                raise SlotUnavailableError(
                    instance=self.name, slot=slot, reason=f"in use per the API server ({err})"
                ) from err
            except ApiError as err:
                raise SlotWriteError(instance=self.name, reason=str(err)) from err
            self.held = wanted
            log.info(
                "slot_claimed", instance=self.name, slot=slot, usage=render_usage(usage),
                node=self.node,
            )  # fmt: skip
        self._on_change()
        return True

    async def release(self, slots: Iterable[str], *, instance_gone: bool = False) -> None:
        """Frees ``slots`` (those this node holds) by applying the set without them.

        With ``instance_gone`` a vanished Instance (404, or a refused re-creation) counts as done.
        """
        async with self._lock:
            wanted = {s: u for s, u in self.held.items() if s not in set(slots)}
            if wanted == self.held:
                return
            freed = sorted(set(self.held) - set(wanted))
            try:
                await self._apply(wanted)
            except (NotFoundError, InvalidError):
                if not instance_gone:
                    raise
            except ApiError as err:
                raise SlotWriteError(instance=self.name, reason=str(err)) from err
            self.held = wanted
            log.info("slots_freed", instance=self.name, slots=freed, node=self.node)
        self._on_change()

    async def _apply(self, held: Mapping[str, Usage]) -> None:
        await self._objects.apply(
            INSTANCE,
            usage_patch(name=self.name, namespace=self.snapshot.namespace, held=held),
            field_manager=field_manager(self.node),
        )
