"""The Configuration reconciler: one node's discovery and Instances for each Configuration.

Level-based: for a key it reads the Configuration from the watched cache and makes the world match,
then returns when to look again. A Configuration being deleted has its discovery stopped, this
node's Instances released (and orphans deleted) and this node's finalizer removed. Otherwise the
finalizer is ensured, the discovery request is made to match (restarted if the handler, details or
properties changed), the Instances this node wants are applied (only those whose cached copy
differs) and put with their devices into the device registry, and, once discovery is listed, those
it no longer sees are released. A Configuration that cannot be parsed is reported once and left
alone until it changes. Errors are typed; the controller retries them with back-off.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import structlog

from akri_agent.discovery.desired import DesiredInstance
from akri_agent.discovery.errors import UnresolvedPropertyError
from akri_agent.discovery.manager import ConfigurationKey, DiscoveryManager, DiscoveryState
from akri_agent.finalizers import set_finalizer
from akri_agent.instances.plan import DeleteOrphan, Release, plan_instances
from akri_agent.instances.registry import DeviceRegistry
from akri_agent.metrics import INSTANCE_COUNT
from akri_common.crds.configuration import parse_configuration
from akri_common.crds.errors import InvalidResourceError
from akri_common.crds.instance import OwnerConfiguration
from akri_common.ids import ConfigurationName, NodeName
from akri_common.k8s.errors import ConflictError, InvalidError, NotFoundError
from akri_common.k8s.objects import CONFIGURATION, INSTANCE, JsonObject, Objects
from akri_common.k8s.store import ObjectKey, Store

log = structlog.get_logger(__name__)

# Looking again just after a grace ends, not just before it.
RECHECK_MARGIN = 0.05


class InstanceChangedError(Exception):
    """An Instance changed between reading and writing it (a node joined or left, a
    ``deviceUsage`` write moved its resourceVersion); the next pass reads it again."""

    retryable = True

    def __init__(self, instance: str, detail: str) -> None:
        self.instance = instance
        super().__init__(f"Instance {instance} changed meanwhile: {detail}")


@dataclass
class ConfigurationReconciler:
    node: NodeName
    objects: Objects
    configurations: Store
    instances: Store
    discovery: DiscoveryManager
    devices: DeviceRegistry = field(default_factory=DeviceRegistry)
    resync: float = 600.0
    property_retry: float = 5.0
    # The last problem logged per Configuration, so that a retried failure is logged once.
    _reported: dict[ObjectKey, str] = field(default_factory=dict)

    async def __call__(self, key: ObjectKey) -> float | None:
        obj = self.configurations.get(key)
        name = ConfigurationName(key.name)
        discovery_key = ConfigurationKey(namespace=key.namespace, name=name)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            await self._gone(key, obj)
            return None
        try:
            configuration = parse_configuration(obj)
        except InvalidResourceError as err:
            self._report(key, "configuration_invalid", str(err))
            await self.discovery.remove(discovery_key)
            return None
        try:
            await set_finalizer(self.objects, CONFIGURATION, obj, self.node, present=True)
            await self.discovery.apply(configuration)
        except NotFoundError:
            return None  # deleted meanwhile; the watch brings the deletion
        except UnresolvedPropertyError as err:
            self._report(key, "discovery_properties_unresolved", str(err))
            return self.property_retry if err.retryable else None
        if self._reported.pop(key, None) is not None:
            log.info("configuration_recovered", configuration=str(key))
        state = self.discovery.state(discovery_key)
        if state is not None:
            owner = OwnerConfiguration(configuration.name, configuration.uid)
            await self._write_instances(state, owner)
        return self._next_look(state)

    def _next_look(self, state: DiscoveryState | None) -> float:
        """The resync, or sooner when a grace ends (discovery may become listed by the clock)."""
        if state is None or state.recheck_after is None:
            return self.resync
        return min(self.resync, state.recheck_after + RECHECK_MARGIN)

    async def _gone(self, key: ObjectKey, obj: JsonObject | None) -> None:
        """The Configuration is gone or being deleted: stop, release, drop the finalizer."""
        name = ConfigurationName(key.name)
        await self.discovery.remove(ConfigurationKey(namespace=key.namespace, name=name))
        self.devices.replace(namespace=key.namespace, configuration=name, devices={})
        _count_instances(key.name, shared=0, unshared=0)
        if obj is not None:
            await self._release_all(key, obj)
            with contextlib.suppress(NotFoundError):
                await set_finalizer(self.objects, CONFIGURATION, obj, self.node, present=False)

    async def _write_instances(self, state: DiscoveryState, owner: OwnerConfiguration) -> None:
        configuration = state.configuration
        plan = plan_instances(
            desired=state.instances,
            current=self.instances,
            configuration=configuration.name,
            namespace=configuration.namespace,
            owner=owner,
            node=self.node,
            listed=state.listed,
        )
        for manifest in plan.apply:
            # Forced: on a shared Instance every node co-owns the fields derived from the
            # Configuration, so a changed capacity or brokerProperties would otherwise conflict
            # with the nodes that have not applied it yet. ``nodes`` entries stay per node.
            written = await self.objects.apply(
                INSTANCE, manifest, field_manager=self.node, force=True
            )
            self.instances.written(written)
            log.info("instance_applied", instance=manifest["metadata"]["name"], node=self.node)
        self._register_devices(configuration.namespace, configuration.name, state.instances)
        shared = sum(1 for i in state.instances if i.spec.shared)
        _count_instances(configuration.name, shared=shared, unshared=len(state.instances) - shared)
        for release in plan.release:
            await self._release(release)
        for orphan in plan.delete:
            await self._delete_orphan(orphan)

    def _register_devices(
        self, namespace: str, configuration: ConfigurationName, desired: tuple[DesiredInstance, ...]
    ) -> None:
        self.devices.replace(
            namespace=namespace,
            configuration=configuration,
            devices={instance.name: instance.device for instance in desired},
        )

    def _report(self, key: ObjectKey, event: str, error: str) -> None:
        """Logs a problem with a Configuration once, not on every retry."""
        if self._reported.get(key) != error:
            self._reported[key] = error
            log.warning(event, configuration=str(key), error=error)

    async def _release_all(self, key: ObjectKey, obj: JsonObject) -> None:
        owner = OwnerConfiguration(
            name=ConfigurationName(key.name), uid=str(obj["metadata"].get("uid", ""))
        )
        plan = plan_instances(
            desired=(),
            current=self.instances,
            configuration=key.name,
            namespace=key.namespace,
            owner=owner,
            node=self.node,
        )
        for release in plan.release:
            await self._release(release)
        for orphan in plan.delete:
            await self._delete_orphan(orphan)

    async def _release(self, release: Release) -> None:
        """Drops this node from an Instance; deletes it when no node is left."""
        where = f"{release.namespace}/{release.name}"
        try:
            if not release.last:
                result = await self.objects.json_patch(
                    INSTANCE, release.patch(), namespace=release.namespace, name=release.name
                )
                log.info("instance_released", instance=where, node=self.node)
                self.instances.written(result)
                if result.get("spec", {}).get("nodes"):
                    return
                release_uid, version = (
                    result["metadata"]["uid"],
                    result["metadata"]["resourceVersion"],
                )
            else:
                release_uid, version = release.uid, None
            # Preconditions: only that Instance, and (after our patch) only if nobody added a node.
            # Should the delete fail, the Instance lists no node: the next pass deletes it as an
            # orphan (``plan``), so it never waits for the garbage collector.
            await self.objects.delete(
                INSTANCE,
                namespace=release.namespace,
                name=release.name,
                uid=release_uid,
                resource_version=version,
            )
            self.instances.deleted(ObjectKey(release.namespace, release.name), release_uid)
            log.info("instance_deleted", instance=where, node=self.node)
        except NotFoundError:
            self.instances.deleted(ObjectKey(release.namespace, release.name), release.uid)
            return
        except (ConflictError, InvalidError) as err:
            # Changed meanwhile (another node joined or left, a deviceUsage write): the watch
            # brings the new version and with it another pass.
            log.info("instance_release_retry", instance=where, node=self.node)
            raise InstanceChangedError(where, str(err)) from err

    async def _delete_orphan(self, orphan: DeleteOrphan) -> None:
        where = f"{orphan.namespace}/{orphan.name}"
        try:
            await self.objects.delete(
                INSTANCE,
                namespace=orphan.namespace,
                name=orphan.name,
                uid=orphan.uid,
                resource_version=orphan.resource_version,
            )
        except NotFoundError:
            self.instances.deleted(ObjectKey(orphan.namespace, orphan.name), orphan.uid)
            return
        except ConflictError as err:
            log.info("orphan_delete_retry", instance=where, node=self.node)
            raise InstanceChangedError(where, str(err)) from err
        self.instances.deleted(ObjectKey(orphan.namespace, orphan.name), orphan.uid)
        log.info("orphan_instance_deleted", instance=where, node=self.node)


def _count_instances(configuration: str, *, shared: int, unshared: int) -> None:
    INSTANCE_COUNT.labels(configuration=configuration, is_shared="true").set(shared)
    INSTANCE_COUNT.labels(configuration=configuration, is_shared="false").set(unshared)
