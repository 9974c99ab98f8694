"""The device-plugin manager: per Instance on this node, its plugins, registrations and slots.

Level-based: ``instance_changed(key)`` queues the key; the reconcile reads the watched Instance and
the device registry and makes the plugins match. An Instance that lists this node (and is not being
deleted) gets this node's finalizer ``<node>`` (as upstream's agent, ``finalizers``), an
instance-level plugin and a place in its Configuration's plugin, both registered with kubelet; one
that no longer does, or is gone, has its slots freed, its plugin stopped (the configuration plugin
too when it has no Instance left) and this node's finalizer removed. The device behind each plugin
comes from the ``DeviceRegistry``, which notifies the manager of every change: the plugin's device
is replaced at once, so the next ``Allocate`` returns the new mounts, device nodes and properties. Beside the reconciles run the kubelet-restart watcher
(every plugin serves a new socket and registers again) and the slot reclaimer.

Used configuration-level virtual ids are reported Healthy by default: against the kubelet device
manager, reporting them Unhealthy drops them from allocatable (so the scheduler counts each in-use
id twice) and makes kubelet refuse a pod whose main container reuses its init container's id once
no healthy id is left ("no healthy devices present"). Upstream #849 (kubelet re-offering an id the
reclaimer has not freed yet) is handled instead by ``Allocate`` reusing the claim behind an id that
kubelet offers again. ``used_configuration_slots_healthy=False`` gives the Unhealthy reporting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from akri_agent.device_plugins.backends import ConfigurationBackend, InstanceBackend
from akri_agent.device_plugins.errors import (
    DevicePluginError,
    PodResourcesError,
    RegistrationError,
    SlotWriteError,
)
from akri_agent.device_plugins.kubelet import kubelet_restarts, register
from akri_agent.device_plugins.ledger import InstanceLedger, InstanceSnapshot
from akri_agent.device_plugins.plugin import PluginServer
from akri_agent.device_plugins.reclaimer import (
    DeviceRef,
    ReclaimState,
    list_devices,
    stale_slots,
)
from akri_agent.device_plugins.slots import DeviceState
from akri_agent.env_names import DEFAULT_POLICY, EnvPolicy
from akri_agent.finalizers import set_finalizer
from akri_agent.instances.registry import DeviceRegistry
from akri_common.crds.naming import resource_name
from akri_common.crds.usage import ConfigurationUsage
from akri_common.devices import Device
from akri_common.filewatch import WatchError
from akri_common.ids import ConfigurationName, NodeName
from akri_common.k8s.controller import Controller
from akri_common.k8s.errors import NotFoundError
from akri_common.k8s.objects import INSTANCE, Objects
from akri_common.k8s.store import ObjectKey, Store

log = structlog.get_logger(__name__)

REREGISTER_RETRY = 0.1


@dataclass
class _InstanceEntry:
    key: ObjectKey
    backend: InstanceBackend
    server: PluginServer
    configuration: ConfigurationName
    registered: bool = False


@dataclass
class _ConfigurationEntry:
    backend: ConfigurationBackend
    server: PluginServer
    registered: bool = False
    members: set[ObjectKey] = field(default_factory=set)


SlotKey = tuple[ObjectKey, str]


class DevicePluginManager:
    def __init__(
        self,
        *,
        node: NodeName,
        objects: Objects,
        instances: Store,
        devices: DeviceRegistry,
        device_plugins_directory: Path,
        pod_resources_socket: Path,
        reclaim_interval: float = 5.0,
        reclaim_grace: float = 20.0,
        reregister_deadline: float = 5.0,
        resync: float = 600.0,
        retry_cap: float = 60.0,
        used_configuration_slots_healthy: bool = True,
        env_policy: EnvPolicy = DEFAULT_POLICY,
    ) -> None:
        self.node = node
        self._env_policy = env_policy
        self._objects = objects
        self._instances = instances
        self._devices = devices
        self.directory = device_plugins_directory
        self._pod_resources_socket = pod_resources_socket
        self._reclaim_interval = reclaim_interval
        self._reclaim_grace = reclaim_grace
        self._reregister_deadline = reregister_deadline
        self._resync = resync
        self._used_configuration_slots_healthy = used_configuration_slots_healthy
        self._controller: Controller[ObjectKey] = Controller(
            "device-plugins", self._reconcile, backoff_cap=retry_cap
        )
        devices.subscribe(self._device_changed)
        self._entries: dict[ObjectKey, _InstanceEntry] = {}
        self._configurations: dict[tuple[str, ConfigurationName], _ConfigurationEntry] = {}
        self._lifecycle = asyncio.Lock()
        self._reclaim = ReclaimState()

    # -- public ---------------------------------------------------------------------------------

    def instance_changed(self, key: ObjectKey) -> None:
        self._controller.enqueue(key)

    def _device_changed(self, key: ObjectKey) -> None:
        """The registry has a new device (or none) for ``key``: the plugin serves it from now on."""
        entry = self._entries.get(key)
        device = self._devices.get(key)
        if entry is not None and device is not None and entry.backend.device != device:
            entry.backend.device = device
            log.info("instance_device_updated", instance=str(key), node=self.node)
        self._controller.enqueue(key)

    async def run(self) -> None:
        """Until cancelled; then stops every plugin server and removes its socket."""
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._controller.run(), name="device-plugin-reconciles")
                tasks.create_task(self._watch_kubelet(), name="kubelet-restart-watch")
                tasks.create_task(self._reclaim_loop(), name="slot-reclaimer")
        finally:
            await self._stop_all()

    def registered_plugins(self) -> dict[str, Path]:
        """Resource name → socket of every plugin currently registered with kubelet."""
        entries: list[_InstanceEntry | _ConfigurationEntry] = [*self._entries.values()]
        entries += self._configurations.values()
        return {
            e.server.resource_name: e.server.socket_path
            for e in entries
            if e.registered and e.server.socket_path is not None
        }

    # -- reconcile ------------------------------------------------------------------------------

    async def _reconcile(self, key: ObjectKey) -> float | None:
        obj = self._instances.get(key)
        spec = (obj or {}).get("spec") or {}
        wanted = (
            obj is not None
            and not obj.get("metadata", {}).get("deletionTimestamp")
            and self.node in (spec.get("nodes") or [])
        )
        if not wanted:
            await self._remove(key, exists=obj is not None)
            if obj is not None:
                with contextlib.suppress(NotFoundError):
                    await set_finalizer(self._objects, INSTANCE, obj, self.node, present=False)
            return None
        assert obj is not None
        snapshot = InstanceSnapshot.of(obj)
        device = self._devices.get(key)
        if key not in self._entries and device is None:
            # Not (yet) discovered on this node (after a restart, discovery is still listing):
            # the registry's notification brings the key back when it is.
            log.debug("instance_device_unknown", instance=str(key), node=self.node)
            return None
        with contextlib.suppress(NotFoundError):
            await set_finalizer(self._objects, INSTANCE, obj, self.node, present=True)
        async with self._lifecycle:
            entry = self._entries.get(key)
            if entry is None:
                assert device is not None
                entry = self._create_entry(key, snapshot, device)
            else:
                if device is not None:
                    entry.backend.device = device
                entry.backend.ledger.update(snapshot)
            configuration = self._ensure_configuration(entry)
            self._refresh(entry)
            if not entry.registered:
                entry.registered = await self._serve_and_register(entry.server)
            if not configuration.registered:
                configuration.registered = await self._serve_and_register(configuration.server)
        return self._resync

    def _create_entry(
        self, key: ObjectKey, snapshot: InstanceSnapshot, device: Device
    ) -> _InstanceEntry:
        holder: list[_InstanceEntry] = []
        ledger = InstanceLedger(
            node=self.node,
            objects=self._objects,
            snapshot=snapshot,
            on_change=lambda: self._refresh(holder[0]) if holder else None,
        )
        backend = InstanceBackend(
            node=self.node, ledger=ledger, device=device, env_policy=self._env_policy
        )
        server = PluginServer(plugin=snapshot.name, directory=self.directory, backend=backend)
        entry = _InstanceEntry(
            key=key, backend=backend, server=server, configuration=snapshot.configuration
        )
        holder.append(entry)
        self._entries[key] = entry
        log.info("instance_plugin_created", instance=str(key), node=self.node)
        return entry

    def _ensure_configuration(self, entry: _InstanceEntry) -> _ConfigurationEntry:
        config_key = (entry.key.namespace, entry.configuration)
        configuration = self._configurations.get(config_key)
        if configuration is None:
            server_box: list[PluginServer] = []

            def publish(devices: tuple[DeviceState, ...]) -> None:
                if server_box:
                    server_box[0].publish(devices)

            backend = ConfigurationBackend(
                node=self.node, configuration=entry.configuration, on_change=publish
            )
            backend.used_healthy = self._used_configuration_slots_healthy
            server = PluginServer(
                plugin=entry.configuration, directory=self.directory, backend=backend
            )
            server_box.append(server)
            configuration = _ConfigurationEntry(backend=backend, server=server)
            self._configurations[config_key] = configuration
            log.info(
                "configuration_plugin_created", configuration=entry.configuration, node=self.node
            )
        configuration.members.add(entry.key)
        configuration.backend.members[entry.backend.name] = entry.backend
        return configuration

    def _refresh(self, entry: _InstanceEntry) -> None:
        """Publishes the lists of the Instance's plugin and of its Configuration's plugin."""
        entry.server.publish(entry.backend.devices())
        configuration = self._configurations.get((entry.key.namespace, entry.configuration))
        if configuration is not None:
            configuration.backend.refresh()

    async def _remove(self, key: ObjectKey, *, exists: bool) -> None:
        entry = self._entries.get(key)
        if entry is None:
            return
        ledger = entry.backend.ledger
        if exists and ledger.held:
            await ledger.release(list(ledger.held), instance_gone=True)
        async with self._lifecycle:
            if self._entries.get(key) is not entry:
                return
            del self._entries[key]
            await entry.server.stop()
            config_key = (key.namespace, entry.configuration)
            configuration = self._configurations.get(config_key)
            if configuration is not None:
                configuration.members.discard(key)
                configuration.backend.members.pop(entry.backend.name, None)
                if configuration.members:
                    configuration.backend.refresh()
                else:
                    del self._configurations[config_key]
                    await configuration.server.stop()
        log.info("instance_plugin_removed", instance=str(key), node=self.node)

    async def _serve_and_register(self, server: PluginServer) -> bool:
        """Serves on a fresh socket and registers; on failure stops serving and raises."""
        try:
            socket = await server.start()
            await register(
                directory=self.directory, plugin_socket=socket, resource=server.resource_name
            )
        except BaseException:
            await server.stop()
            raise
        return True

    # -- kubelet restarts -----------------------------------------------------------------------

    async def _watch_kubelet(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            restarts = kubelet_restarts(self.directory)
            async with contextlib.aclosing(restarts):
                async for _ in restarts:
                    log.info("kubelet_restarted", directory=str(self.directory), node=self.node)
                    await self._reregister_all()
        except WatchError as err:
            log.warning("kubelet_unwatched", directory=str(self.directory), error=str(err))

    async def _reregister_all(self) -> None:
        async with self._lifecycle:
            for entry in self._entries.values():
                entry.registered = False
            for configuration in self._configurations.values():
                configuration.registered = False
            async with asyncio.TaskGroup() as tasks:
                for entry in self._entries.values():
                    tasks.create_task(self._reregister(entry))
                for configuration in self._configurations.values():
                    tasks.create_task(self._reregister(configuration))

    async def _reregister(self, entry: _InstanceEntry | _ConfigurationEntry) -> None:
        """Registers again, retrying quickly (kubelet may bind before it serves) until a deadline;
        past it, the Instance reconciles retry with back-off."""
        deadline = asyncio.get_running_loop().time() + self._reregister_deadline
        while True:
            try:
                entry.registered = await self._serve_and_register(entry.server)
            except DevicePluginError as err:
                if asyncio.get_running_loop().time() >= deadline:
                    log.warning(
                        "reregister_failed", resource=entry.server.resource_name, error=str(err)
                    )
                    for key in self._keys_of(entry):
                        self._controller.enqueue(key, after=1.0)
                    return
            else:
                return
            await asyncio.sleep(REREGISTER_RETRY)

    def _keys_of(self, entry: _InstanceEntry | _ConfigurationEntry) -> Iterable[ObjectKey]:
        return [entry.key] if isinstance(entry, _InstanceEntry) else list(entry.members)

    # -- slot reclaim ---------------------------------------------------------------------------

    async def _reclaim_loop(self) -> None:
        while True:
            await asyncio.sleep(self._reclaim_interval)
            try:
                await self.reclaim_once(now=time.monotonic())
            except (PodResourcesError, SlotWriteError) as err:
                log.warning("reclaim_failed", node=self.node, error=str(err))

    def _held_devices(self) -> dict[SlotKey, DeviceRef]:
        held: dict[SlotKey, DeviceRef] = {}
        for key, entry in self._entries.items():
            for slot, usage in entry.backend.ledger.held.items():
                if isinstance(usage, ConfigurationUsage):
                    held[(key, slot)] = (resource_name(entry.configuration), usage.virtual_id)
                else:
                    held[(key, slot)] = (entry.server.resource_name, slot)
        return held

    async def reclaim_once(self, *, now: float) -> list[SlotKey]:
        """One reclaim pass; returns the slots it freed."""
        held = self._held_devices()
        if not held:
            self._reclaim = ReclaimState()
            return []
        reported = await list_devices(self._pod_resources_socket)
        held = self._held_devices()  # claims made while kubelet answered
        due, self._reclaim = stale_slots(
            held=held,
            reported=reported,
            state=self._reclaim,
            now=now,
            grace=self._reclaim_grace,
        )
        by_instance: dict[ObjectKey, list[str]] = {}
        for key, slot in due:
            by_instance.setdefault(key, []).append(slot)
        freed: list[SlotKey] = []
        for key, slots in by_instance.items():
            entry = self._entries.get(key)
            if entry is None:
                continue
            log.info("slots_reclaimed", instance=str(key), slots=slots, node=self.node)
            await entry.backend.ledger.release(slots)
            freed += [(key, s) for s in slots]
        return freed

    # -- shutdown -------------------------------------------------------------------------------

    async def _stop_all(self) -> None:
        servers = [e.server for e in self._entries.values()]
        servers += [c.server for c in self._configurations.values()]
        self._entries.clear()
        self._configurations.clear()
        for server in servers:
            try:
                await server.stop()
            except Exception as err:  # noqa: BLE001 (keep stopping the others)
                log.warning("plugin_stop_failed", plugin=server.plugin, error=str(err))


__all__ = ["DevicePluginManager", "RegistrationError"]
