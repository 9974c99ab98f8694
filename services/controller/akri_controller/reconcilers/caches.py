"""The watched caches the controller reads, and which reconciler keys a change to each one touches.

One ``Store`` per kind, fed by a reflector: Instances and Configurations (all namespaces), broker
Pods and Jobs (those labelled ``akri.sh/instance``), Services labelled ``controller=akri.sh`` and
Nodes. A reflector reports only the key of what changed; for a deleted object the labels that say
which Instance or Configuration it belonged to are gone with it, so ``Routes`` remembers them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from akri_common.k8s.store import ObjectKey, Store
from akri_controller.brokers import names

JsonObject = dict[str, Any]
Enqueue = Callable[[ObjectKey], None]


@dataclass
class Caches:
    instances: Store = field(default_factory=Store)
    configurations: Store = field(default_factory=Store)
    pods: Store = field(default_factory=Store)
    jobs: Store = field(default_factory=Store)
    services: Store = field(default_factory=Store)
    nodes: Store = field(default_factory=Store)

    def all(self) -> tuple[Store, ...]:
        return (
            self.instances,
            self.configurations,
            self.pods,
            self.jobs,
            self.services,
            self.nodes,
        )

    def synced(self) -> bool:
        return all(store.synced.is_set() for store in self.all())

    def labelled(
        self, store: Store, *, namespace: str, label: str, value: str
    ) -> Iterator[JsonObject]:
        """The cached objects of ``namespace`` whose ``label`` is ``value``."""
        for obj in store:
            metadata = obj.get("metadata") or {}
            if (
                metadata.get("namespace") == namespace
                and (metadata.get("labels") or {}).get(label) == value
            ):
                yield obj

    def instances_of(self, configuration: ObjectKey) -> Iterator[ObjectKey]:
        for obj in self.instances:
            if (obj.get("metadata") or {}).get("namespace") == configuration.namespace and (
                obj.get("spec") or {}
            ).get("configurationName") == configuration.name:
                yield ObjectKey.of(obj)


@dataclass(frozen=True)
class Owners:
    """The Instance and Configuration an object belongs to, by its labels."""

    instance: ObjectKey | None
    configuration: ObjectKey | None

    @classmethod
    def of(cls, obj: JsonObject) -> Owners:
        metadata = obj.get("metadata") or {}
        labels = metadata.get("labels") or {}
        namespace = str(metadata.get("namespace", ""))
        instance = labels.get(names.INSTANCE_LABEL)
        configuration = labels.get(names.CONFIGURATION_LABEL)
        return cls(
            instance=ObjectKey(namespace, instance) if instance else None,
            configuration=ObjectKey(namespace, configuration) if configuration else None,
        )


class Routes:
    """Remembers, per cached object, the Owners its labels named (so a deletion can be routed)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._owners: dict[ObjectKey, Owners] = {}

    def owners(self, key: ObjectKey) -> tuple[Owners, ...]:
        """The owners of the object before and after this change (both, if its labels moved)."""
        obj = self._store.get(key)
        before = self._owners.pop(key, None)
        after = Owners.of(obj) if obj is not None else None
        if after is not None:
            self._owners[key] = after
        return tuple(dict.fromkeys(o for o in (before, after) if o is not None))
