"""A local cache of one kind's objects, keyed by namespace and name, fed by a reflector."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]


@dataclass(frozen=True, order=True)
class ObjectKey:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @classmethod
    def of(cls, obj: JsonObject) -> ObjectKey:
        metadata = obj.get("metadata", {})
        return cls(namespace=metadata.get("namespace", ""), name=metadata["name"])


class Store:
    """Objects as last seen; ``synced`` is set once the first complete list has been stored."""

    def __init__(self) -> None:
        self._objects: dict[ObjectKey, JsonObject] = {}
        self.synced = asyncio.Event()

    def get(self, key: ObjectKey) -> JsonObject | None:
        return self._objects.get(key)

    def __iter__(self) -> Iterator[JsonObject]:
        return iter(list(self._objects.values()))

    def __len__(self) -> int:
        return len(self._objects)

    def replace(self, objects: Iterable[JsonObject]) -> set[ObjectKey]:
        """Replaces everything with a fresh list; returns the keys that changed or vanished."""
        fresh = {ObjectKey.of(obj): obj for obj in objects}
        changed = {
            key
            for key in fresh.keys() | self._objects.keys()
            if _version(fresh.get(key)) != _version(self._objects.get(key))
        }
        self._objects = fresh
        self.synced.set()
        return changed

    def upsert(self, obj: JsonObject) -> ObjectKey:
        key = ObjectKey.of(obj)
        self._objects[key] = obj
        return key

    def remove(self, obj: JsonObject) -> ObjectKey:
        key = ObjectKey.of(obj)
        self._objects.pop(key, None)
        return key


def _version(obj: JsonObject | None) -> str | None:
    if obj is None:
        return None
    return str(obj.get("metadata", {}).get("resourceVersion", ""))
