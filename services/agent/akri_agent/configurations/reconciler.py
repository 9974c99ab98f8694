"""The Configuration reconciler: one node's discovery and Instances for each Configuration.

Level-based: for a key it reads the Configuration from the watched cache and makes the world match.
A Configuration being deleted has its discovery stopped, this node's Instances released and this
node's finalizer removed. Otherwise the finalizer is ensured, the discovery request is made to match
(restarted if the handler, details or properties changed), and the Instances this node wants are
applied while those it no longer sees are released. A Configuration that cannot be parsed is
reported once and left alone until it changes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import structlog

from akri_agent.discovery.desired import DesiredInstance
from akri_agent.discovery.errors import UnresolvedPropertyError
from akri_agent.discovery.manager import ConfigurationKey, DiscoveryManager
from akri_agent.instances.plan import Release, plan_instances
from akri_agent.metrics import INSTANCE_COUNT
from akri_common.crds.configuration import Configuration, parse_configuration
from akri_common.crds.errors import InvalidResourceError
from akri_common.crds.instance import OwnerConfiguration
from akri_common.ids import ConfigurationName, NodeName
from akri_common.k8s.errors import ConflictError, InvalidError, NotFoundError
from akri_common.k8s.objects import CONFIGURATION, INSTANCE, JsonObject, Objects
from akri_common.k8s.store import ObjectKey, Store

log = structlog.get_logger(__name__)

RESYNC_SECONDS = 600.0
UNRESOLVED_RETRY_SECONDS = 5.0


@dataclass
class ConfigurationReconciler:
    node: NodeName
    objects: Objects
    configurations: Store
    instances: Store
    discovery: DiscoveryManager
    # The last problem logged per Configuration, so that a retried failure is logged once.
    _reported: dict[ObjectKey, str] = field(default_factory=dict)

    async def __call__(self, key: ObjectKey) -> float | None:
        obj = self.configurations.get(key)
        discovery_key = ConfigurationKey(namespace=key.namespace, name=ConfigurationName(key.name))
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            await self.discovery.remove(discovery_key)
            _count_instances(key.name, shared=0, unshared=0)
            if obj is not None:
                await self._release_all(key, obj)
                with contextlib.suppress(NotFoundError):
                    await self._set_finalizer(obj, present=False)
            return None
        try:
            configuration = parse_configuration(obj)
        except InvalidResourceError as err:
            self._report(key, "configuration_invalid", str(err))
            await self.discovery.remove(discovery_key)
            return None
        try:
            await self._set_finalizer(obj, present=True)
            await self.discovery.apply(configuration)
        except NotFoundError:
            return None  # deleted meanwhile; the watch brings the deletion
        except UnresolvedPropertyError as err:
            self._report(key, "discovery_properties_unresolved", str(err))
            return UNRESOLVED_RETRY_SECONDS if err.retryable else None
        if self._reported.pop(key, None) is not None:
            log.info("configuration_recovered", configuration=str(key))
        state = self.discovery.state(discovery_key)
        if state is not None:
            await self._write_instances(configuration, state.instances)
        return RESYNC_SECONDS

    async def _write_instances(
        self, configuration: Configuration, desired: tuple[DesiredInstance, ...]
    ) -> None:
        plan = plan_instances(
            desired=desired,
            current=self.instances,
            configuration=configuration.name,
            namespace=configuration.namespace,
            owner=OwnerConfiguration(name=configuration.name, uid=configuration.uid),
            node=self.node,
        )
        for manifest in plan.apply:
            # Forced: on a shared Instance every node co-owns the fields derived from the
            # Configuration, so a changed capacity or brokerProperties would otherwise conflict
            # with the nodes that have not applied it yet. ``nodes`` entries stay per node.
            await self.objects.apply(INSTANCE, manifest, field_manager=self.node, force=True)
        shared = sum(1 for i in desired if i.spec.shared)
        _count_instances(configuration.name, shared=shared, unshared=len(desired) - shared)
        for release in plan.release:
            await self._release(release)

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

    async def _release(self, release: Release) -> None:
        """Drops this node from an Instance; deletes it when no node is left."""
        where = f"{release.namespace}/{release.name}"
        try:
            if not release.last:
                result = await self.objects.json_patch(
                    INSTANCE, release.patch(), namespace=release.namespace, name=release.name
                )
                log.info("instance_released", instance=where, node=self.node)
                if result.get("spec", {}).get("nodes"):
                    return
                release_uid, version = (
                    result["metadata"]["uid"],
                    result["metadata"]["resourceVersion"],
                )
            else:
                release_uid, version = release.uid, None
            # Preconditions: only that Instance, and (after our patch) only if nobody added a node.
            await self.objects.delete(
                INSTANCE,
                namespace=release.namespace,
                name=release.name,
                uid=release_uid,
                resource_version=version,
            )
            log.info("instance_deleted", instance=where, node=self.node)
        except NotFoundError:
            return
        except (ConflictError, InvalidError):
            # Changed meanwhile (another node joined or left): the watch brings the new version
            # and with it another pass.
            log.info("instance_release_retry", instance=where, node=self.node)
            raise

    async def _set_finalizer(self, obj: JsonObject, *, present: bool) -> None:
        """Adds or removes this node's finalizer on exactly the version read (never recreates)."""
        metadata = obj["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        if (self.node in finalizers) == present:
            return
        wanted = [*finalizers, self.node] if present else [f for f in finalizers if f != self.node]
        await self.objects.merge_patch(
            CONFIGURATION,
            {"metadata": {"resourceVersion": metadata["resourceVersion"], "finalizers": wanted}},
            namespace=metadata["namespace"],
            name=metadata["name"],
        )


def _count_instances(configuration: str, *, shared: int, unshared: int) -> None:
    INSTANCE_COUNT.labels(configuration=configuration, is_shared="true").set(shared)
    INSTANCE_COUNT.labels(configuration=configuration, is_shared="false").set(unshared)
