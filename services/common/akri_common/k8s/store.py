"""A local cache of one kind's objects, keyed by namespace and name, fed by a reflector.

A writer may also tell the cache what its own successful writes returned (``written``,
``deleted``), so that its next decision does not rest on a copy its own write already replaced:
a watch that is down (an API server restarting, a relist waiting out its back-off) would otherwise
keep showing a deleted object, or an older version, until it comes back.
"""

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

    def written(self, obj: JsonObject) -> None:
        """Keeps what a successful write returned, unless the cache already holds a newer copy
        (the watch can be ahead of the write's own answer). Versions that are not integers
        cannot be ordered; then the cache is left to the watch."""
        key = ObjectKey.of(obj)
        held = self._objects.get(key)
        if held is None or _newer(obj, than=held):
            self._objects[key] = obj

    def deleted(self, key: ObjectKey, uid: str) -> None:
        """Forgets the object that a successful delete (with a ``uid`` precondition) removed; a
        newer object of the same name (another uid) stays."""
        held = self._objects.get(key)
        if held is not None and held.get("metadata", {}).get("uid") == uid:
            del self._objects[key]


def _newer(obj: JsonObject, *, than: JsonObject) -> bool:
    if obj.get("metadata", {}).get("uid") != than.get("metadata", {}).get("uid"):
        return True  # a new object under the same name: the old one is gone
    mine, held = _version(obj) or "", _version(than) or ""
    return mine.isdigit() and held.isdigit() and int(mine) > int(held)


def _version(obj: JsonObject | None) -> str | None:
    if obj is None:
        return None
    return str(obj.get("metadata", {}).get("resourceVersion", ""))
