"""What stands behind each plugin: its device list and what ``Allocate`` claims and returns.

``InstanceBackend`` serves ``akri.sh/<instance>``: slot ids ``<instance>-<n>``, each claimed with
usage ``<node>``. ``ConfigurationBackend`` serves ``akri.sh/<configuration>`` over the Instances of
that Configuration on this node: virtual ids ``<configuration>-<m>``, each backed by a real slot
claimed with usage ``C:<virtual-id>:<node>``. Decisions come from ``slots`` and ``allocation``;
writes go through each Instance's ``InstanceLedger``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import structlog

from akri_agent.device_plugins.allocation import (
    ContainerAllocation,
    instance_allocation,
    merge_allocations,
)
from akri_agent.device_plugins.errors import SlotUnavailableError
from akri_agent.device_plugins.ledger import InstanceLedger
from akri_agent.device_plugins.slots import (
    ClaimVirtual,
    DeviceState,
    MemberSlots,
    UnknownDeviceIdError,
    VirtualSlots,
    assign_virtual_slots,
    configuration_devices,
    decide_virtual_claim,
    instance_devices,
    slot_index,
)
from akri_agent.env_names import DEFAULT_POLICY, EnvPolicy
from akri_common.crds.usage import ConfigurationUsage, NodeUsage
from akri_common.devices import Device
from akri_common.ids import ConfigurationName, InstanceName, NodeName

log = structlog.get_logger(__name__)


class InstanceBackend:
    """One Instance on this node: its ledger, its discovered device, its instance-level list."""

    def __init__(
        self,
        *,
        node: NodeName,
        ledger: InstanceLedger,
        device: Device,
        env_policy: EnvPolicy = DEFAULT_POLICY,
    ) -> None:
        self.node = node
        self.ledger = ledger
        self.device = device
        self.env_policy = env_policy

    @property
    def name(self) -> InstanceName:
        return self.ledger.name

    def devices(self) -> tuple[DeviceState, ...]:
        snapshot = self.ledger.snapshot
        return instance_devices(
            instance=snapshot.name,
            capacity=snapshot.capacity,
            usage=self.ledger.usage(),
            node=self.node,
        )

    def member(self) -> MemberSlots:
        snapshot = self.ledger.snapshot
        return MemberSlots(snapshot.name, snapshot.capacity, self.ledger.usage())

    def allocation(self) -> ContainerAllocation:
        return instance_allocation(
            instance=self.name,
            broker_properties=self.ledger.snapshot.broker_properties,
            device=self.device,
            env_policy=self.env_policy,
        )

    async def allocate(self, device_ids: Sequence[str]) -> ContainerAllocation:
        for device_id in device_ids:
            try:
                slot_index(self.name, self.ledger.snapshot.capacity, device_id)
            except UnknownDeviceIdError as err:
                raise SlotUnavailableError(
                    instance=self.name, slot=device_id, reason=str(err)
                ) from err
            await self.ledger.claim(device_id, NodeUsage(node=self.node))
        return self.allocation()


class ConfigurationBackend:
    """The configuration-level plugin of one Configuration on this node."""

    def __init__(
        self,
        *,
        node: NodeName,
        configuration: ConfigurationName,
        on_change: Callable[[tuple[DeviceState, ...]], None],
    ) -> None:
        self.node = node
        self.configuration = configuration
        self.members: dict[InstanceName, InstanceBackend] = {}
        self.virtual = VirtualSlots()
        self._on_change = on_change
        self._lock = asyncio.Lock()
        self.used_healthy = False

    def refresh(self) -> tuple[DeviceState, ...]:
        """Re-assigns the virtual ids from the members' current usage and publishes the list."""
        self.virtual = assign_virtual_slots(
            configuration=self.configuration,
            members=self._member_slots(),
            node=self.node,
            previous=self.virtual,
        )
        devices = configuration_devices(self.virtual, used_healthy=self.used_healthy)
        self._on_change(devices)
        return devices

    def _member_slots(self) -> list[MemberSlots]:
        return [member.member() for member in self.members.values()]

    async def allocate(self, device_ids: Sequence[str]) -> ContainerAllocation:
        allocations = []
        async with self._lock:
            for vid in device_ids:
                self.refresh()
                try:
                    decision = decide_virtual_claim(
                        configuration=self.configuration,
                        virtual=self.virtual,
                        members=self._member_slots(),
                        virtual_id_requested=vid,
                    )
                except UnknownDeviceIdError as err:
                    raise SlotUnavailableError(
                        instance=self.configuration, slot=vid, reason=str(err)
                    ) from err
                member = self.members[decision.instance]
                if isinstance(decision, ClaimVirtual):
                    await self._claim_one(member, vid, decision.candidates)
                else:
                    log.info(
                        "virtual_slot_reused", configuration=self.configuration, virtual_id=vid,
                        instance=decision.instance, slot=decision.slot,
                    )  # fmt: skip
                allocations.append(member.allocation())
            self.refresh()
        return merge_allocations(allocations)

    async def _claim_one(
        self, member: InstanceBackend, vid: str, candidates: Sequence[str]
    ) -> None:
        usage = ConfigurationUsage(virtual_id=vid, node=self.node)
        last: SlotUnavailableError | None = None
        for slot in candidates:
            try:
                await member.ledger.claim(slot, usage)
            except SlotUnavailableError as err:
                last = err
            else:
                return
        assert last is not None
        raise last
