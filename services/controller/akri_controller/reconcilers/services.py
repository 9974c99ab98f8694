"""The service reconcilers: an Instance's ``<instance>-svc`` and a Configuration's ``<config>-svc``.

A Service exists while a broker of its Instance (or Configuration) runs. As upstream: it is created
once a broker pod is ``Running`` and kept while any broker pod is still live (Pending or Running,
not being deleted), so that a broker being replaced does not make its Service flap; it is deleted
when none is left, when the Configuration no longer asks for it, or when its owner is gone. It is
written by server-side apply (field manager ``akri-controller``), and only when the cached Service
lacks something the desired one has, so a steady state costs no writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from akri_common.crds.configuration import Configuration, parse_configuration
from akri_common.crds.errors import InvalidResourceError
from akri_common.ids import ConfigurationName
from akri_common.k8s.errors import ConflictError, NotFoundError
from akri_common.k8s.objects import SERVICE, JsonObject, Objects
from akri_common.k8s.store import ObjectKey
from akri_controller.brokers import names
from akri_controller.brokers.manifests import (
    configuration_service_manifest,
    instance_service_manifest,
)
from akri_controller.brokers.owners import BrokerInstance, configuration_owner
from akri_controller.reconcilers.caches import Caches

log = structlog.get_logger(__name__)

RESYNC_SECONDS = 300.0
FIELD_MANAGER = "akri-controller"
ENDED_PHASES = frozenset({"Succeeded", "Failed"})


def service_wanted(pods: Iterable[Mapping[str, Any]], *, exists: bool) -> bool:
    """Whether a broker Service should exist, given the broker pods it fronts. Pure."""
    live = [
        p
        for p in pods
        if not (p.get("metadata") or {}).get("deletionTimestamp")
        and (p.get("status") or {}).get("phase", "Pending") not in ENDED_PHASES
    ]
    if any((p.get("status") or {}).get("phase") == "Running" for p in live):
        return True
    return exists and bool(live)


def covers(actual: Any, desired: Any) -> bool:
    """True when ``actual`` already holds everything ``desired`` sets (server defaults aside)."""
    if isinstance(desired, Mapping):
        return isinstance(actual, Mapping) and all(
            covers(actual.get(k), v) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(desired)
            and all(covers(a, d) for a, d in zip(actual, desired, strict=True))
        )
    return bool(actual == desired)


@dataclass
class _ServiceWriter:
    objects: Objects
    caches: Caches

    async def converge(
        self,
        *,
        namespace: str,
        existing: list[JsonObject],
        desired: JsonObject | None,
    ) -> None:
        keep = desired["metadata"]["name"] if desired is not None else None
        for service in existing:
            metadata = service["metadata"]
            if metadata["name"] == keep or metadata.get("deletionTimestamp"):
                continue
            with contextlib.suppress(NotFoundError, ConflictError):
                await self.objects.delete(
                    SERVICE, namespace=namespace, name=metadata["name"], uid=metadata.get("uid")
                )
                log.info("service_removed", service=f"{namespace}/{metadata['name']}")
        if desired is None:
            return
        current = self.caches.services.get(ObjectKey(namespace, desired["metadata"]["name"]))
        if current is not None and covers(current, desired):
            return
        await self.objects.apply(SERVICE, desired, field_manager=FIELD_MANAGER, force=True)
        if current is None:
            log.info("service_created", service=f"{namespace}/{desired['metadata']['name']}")

    def configuration(self, key: ObjectKey) -> Configuration | None:
        obj = self.caches.configurations.get(key)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return None
        try:
            return parse_configuration(obj)
        except InvalidResourceError:
            return None  # reported by the broker reconciler


@dataclass
class InstanceServiceReconciler:
    objects: Objects
    caches: Caches
    _writer: _ServiceWriter = field(init=False)

    def __post_init__(self) -> None:
        self._writer = _ServiceWriter(self.objects, self.caches)

    async def __call__(self, key: ObjectKey) -> float | None:
        existing = list(
            self.caches.labelled(
                self.caches.services,
                namespace=key.namespace,
                label=names.INSTANCE_LABEL,
                value=key.name,
            )
        )
        desired = self._desired(key, exists=bool(existing))
        await self._writer.converge(namespace=key.namespace, existing=existing, desired=desired)
        return RESYNC_SECONDS

    def _desired(self, key: ObjectKey, *, exists: bool) -> JsonObject | None:
        obj = self.caches.instances.get(key)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return None
        instance = BrokerInstance.of(obj)
        configuration = self._writer.configuration(ObjectKey(key.namespace, instance.configuration))
        if configuration is None or configuration.instance_service_spec is None:
            return None
        pods = self.caches.labelled(
            self.caches.pods, namespace=key.namespace, label=names.INSTANCE_LABEL, value=key.name
        )
        if not service_wanted(pods, exists=exists):
            return None
        return instance_service_manifest(instance, service_spec=configuration.instance_service_spec)


@dataclass
class ConfigurationServiceReconciler:
    objects: Objects
    caches: Caches
    _writer: _ServiceWriter = field(init=False)

    def __post_init__(self) -> None:
        self._writer = _ServiceWriter(self.objects, self.caches)

    async def __call__(self, key: ObjectKey) -> float | None:
        existing = [
            s
            for s in self.caches.labelled(
                self.caches.services,
                namespace=key.namespace,
                label=names.CONFIGURATION_LABEL,
                value=key.name,
            )
            if names.INSTANCE_LABEL not in (s["metadata"].get("labels") or {})
        ]
        desired = self._desired(key, exists=bool(existing))
        await self._writer.converge(namespace=key.namespace, existing=existing, desired=desired)
        return RESYNC_SECONDS

    def _desired(self, key: ObjectKey, *, exists: bool) -> JsonObject | None:
        configuration = self._writer.configuration(key)
        if configuration is None or configuration.configuration_service_spec is None:
            return None
        pods = self.caches.labelled(
            self.caches.pods,
            namespace=key.namespace,
            label=names.CONFIGURATION_LABEL,
            value=key.name,
        )
        if not service_wanted(pods, exists=exists):
            return None
        return configuration_service_manifest(
            configuration=ConfigurationName(key.name),
            namespace=key.namespace,
            owner=configuration_owner(name=configuration.name, uid=configuration.uid),
            service_spec=configuration.configuration_service_spec,
        )
