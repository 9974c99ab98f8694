"""The broker reconciler: for one Instance, its broker Pods (one per node) or its broker Job.

Level-based: it reads the Instance, its Configuration and the broker Pods and Jobs from the
watched caches, asks ``brokers.actions`` what to change, and writes only that. An Instance that is
gone (or being deleted) has its Pods deleted and its Jobs deleted with Background propagation;
the garbage collector would get there too, through the ownerReferences, but later. Creates that
find the object already there (409) and deletes that find it gone (404) are not errors: the cache
was a step behind, and the watch brings the next pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from akri_common.crds.configuration import Configuration, parse_configuration
from akri_common.crds.errors import InvalidResourceError
from akri_common.crds.instance import KIND as INSTANCE_KIND
from akri_common.k8s.errors import ConflictError, NotFoundError
from akri_common.k8s.objects import JOB, POD, JsonObject, Objects
from akri_common.k8s.store import ObjectKey
from akri_controller.brokers import names
from akri_controller.brokers.actions import BrokerPod, plan_pods
from akri_controller.brokers.manifests import (
    SPEC_HASH_ANNOTATION,
    job_manifest,
    pod_manifest,
)
from akri_controller.brokers.owners import BrokerInstance, controller_of
from akri_controller.reconcilers.caches import Caches

log = structlog.get_logger(__name__)

RESYNC_SECONDS = 300.0
# A Pending deadline is looked at a moment after it passes, not a moment before.
DEADLINE_SLACK = 0.5


@dataclass
class BrokerReconciler:
    objects: Objects
    caches: Caches
    pending_grace: timedelta
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _reported: dict[ObjectKey, str] = field(default_factory=dict)

    async def __call__(self, key: ObjectKey) -> float | None:
        obj = self.caches.instances.get(key)
        pods = self._pods(key)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            await self._remove_all(key, pods, jobs=True)
            return None
        instance = BrokerInstance.of(obj)
        configuration = self._configuration(ObjectKey(key.namespace, instance.configuration))
        if configuration is None:
            return RESYNC_SECONDS  # gone or unreadable: the garbage collector follows
        requeue = RESYNC_SECONDS
        if configuration.broker_pod_spec is not None:
            recheck = await self._pods_for(instance, pods, configuration.broker_pod_spec)
            if recheck is not None:
                requeue = min(requeue, recheck + DEADLINE_SLACK)
        else:
            await self._remove_all(key, pods, jobs=False)
        if configuration.broker_job_spec is not None:
            await self._job_for(instance, configuration)
        return requeue

    def _pods(self, key: ObjectKey) -> list[JsonObject]:
        """The cached broker pods an Instance of this name controls (Job pods are the Job's)."""
        return [
            pod
            for pod in self.caches.labelled(
                self.caches.pods,
                namespace=key.namespace,
                label=names.INSTANCE_LABEL,
                value=key.name,
            )
            if (controller_of(pod) or {}).get("kind") == INSTANCE_KIND
        ]

    def _configuration(self, key: ObjectKey) -> Configuration | None:
        obj = self.caches.configurations.get(key)
        if obj is None:
            return None
        try:
            configuration = parse_configuration(obj)
        except InvalidResourceError as err:
            if self._reported.get(key) != str(err):
                self._reported[key] = str(err)
                log.warning("configuration_invalid", configuration=str(key), error=str(err))
            return None
        self._reported.pop(key, None)
        return configuration

    async def _pods_for(
        self, instance: BrokerInstance, pods: list[JsonObject], spec: Mapping[str, Any]
    ) -> float | None:
        manifests = {
            node: pod_manifest(instance, node=node, broker_pod_spec=spec) for node in instance.nodes
        }
        plan = plan_pods(
            instance,
            pods=[BrokerPod.of(p) for p in pods],
            desired_hash={
                node: m["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
                for node, m in manifests.items()
            },
            now=self.clock(),
            pending_grace=self.pending_grace,
        )
        for removal in plan.remove:
            await self._delete_pod(instance.namespace, removal.pod.name, removal.pod.uid)
            log.info(
                "broker_pod_removed",
                pod=f"{instance.namespace}/{removal.pod.name}",
                node=removal.pod.node,
                reason=removal.reason.value,
            )
        for node in plan.add:
            manifest = manifests[node]
            try:
                await self.objects.create(POD, manifest)
            except ConflictError:
                continue  # already there: the cache was behind
            log.info(
                "broker_pod_created",
                pod=f"{instance.namespace}/{manifest['metadata']['name']}",
                node=node,
            )
        return plan.recheck_after

    async def _job_for(self, instance: BrokerInstance, configuration: Configuration) -> None:
        assert configuration.broker_job_spec is not None
        name = names.job_name(instance.name, generation=configuration.generation)
        if self.caches.jobs.get(ObjectKey(instance.namespace, name)) is not None:
            return
        manifest = job_manifest(
            instance,
            generation=configuration.generation,
            broker_job_spec=configuration.broker_job_spec,
        )
        try:
            await self.objects.create(JOB, manifest)
        except ConflictError:
            return
        log.info("broker_job_created", job=f"{instance.namespace}/{name}")

    async def _remove_all(self, key: ObjectKey, pods: list[JsonObject], *, jobs: bool) -> None:
        for pod in pods:
            metadata = pod["metadata"]
            if metadata.get("deletionTimestamp"):
                continue
            await self._delete_pod(key.namespace, metadata["name"], metadata.get("uid"))
            log.info(
                "broker_pod_removed", pod=f"{key.namespace}/{metadata['name']}", reason="no_broker"
            )
        if not jobs:
            return
        for job in self.caches.labelled(
            self.caches.jobs, namespace=key.namespace, label=names.INSTANCE_LABEL, value=key.name
        ):
            metadata = job["metadata"]
            if metadata.get("deletionTimestamp"):
                continue
            with contextlib.suppress(NotFoundError, ConflictError):
                await self.objects.delete(
                    JOB,
                    namespace=key.namespace,
                    name=metadata["name"],
                    uid=metadata.get("uid"),
                    propagation="Background",
                )
                log.info("broker_job_removed", job=f"{key.namespace}/{metadata['name']}")

    async def _delete_pod(self, namespace: str, name: str, uid: str | None) -> None:
        # The uid precondition: never the replacement that took the name meanwhile.
        with contextlib.suppress(NotFoundError, ConflictError):
            await self.objects.delete(POD, namespace=namespace, name=name, uid=uid or None)
