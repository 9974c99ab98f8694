"""Keeping a ``Store`` in step with the API server: list, then watch, resume, re-list when needed.

It lists once, then watches from the list's resourceVersion, resuming from the last version seen
(bookmarks included) when the server ends a watch. A ``410 Gone`` means the version is too old: it
lists again. An unreachable server is retried with capped back-off, forever, so a process survives
an API outage and picks up where it left off. Every key that changes is passed to ``on_change``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from akri_common.backoff import delay
from akri_common.k8s.errors import ApiError, GoneError
from akri_common.k8s.objects import Kind, Objects
from akri_common.k8s.store import ObjectKey, Store

log = structlog.get_logger(__name__)

BACKOFF_INITIAL = 0.5
BACKOFF_CAP = 10.0


class Reflector:
    def __init__(
        self,
        objects: Objects,
        kind: Kind,
        store: Store,
        *,
        on_change: Callable[[ObjectKey], None],
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        watch_timeout: int = 300,
    ) -> None:
        self._objects = objects
        self._kind = kind
        self.store = store
        self._on_change = on_change
        self._namespace = namespace
        self._label_selector = label_selector
        self._field_selector = field_selector
        self._watch_timeout = watch_timeout

    async def run(self) -> None:
        """Runs until cancelled."""
        failures = 0
        version: str | None = None
        while True:
            try:
                if version is None:
                    version = await self._list()
                version = await self._watch(version)
                failures = 0
            except GoneError:
                log.info("watch_expired", kind=self._kind.plural)
                version = None
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if not isinstance(err, ApiError):
                    log.exception("watch_crashed", kind=self._kind.plural)
                failures += 1
                wait = delay(failures, initial=BACKOFF_INITIAL, cap=BACKOFF_CAP)
                log.warning("watch_failed", kind=self._kind.plural, error=str(err), retry_in=wait)
                await asyncio.sleep(wait)
                if not isinstance(err, ApiError) or not err.retryable:
                    version = None

    async def _list(self) -> str:
        items, version = await self._objects.list_all(
            self._kind,
            namespace=self._namespace,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
        )
        for key in sorted(self.store.replace(items)):
            self._on_change(key)
        return version

    async def _watch(self, version: str) -> str:
        async for event in self._objects.watch(
            self._kind,
            resource_version=version,
            namespace=self._namespace,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
            timeout_seconds=self._watch_timeout,
        ):
            version = str(event.object.get("metadata", {}).get("resourceVersion", version))
            if event.type == "BOOKMARK":
                continue
            if event.type == "DELETED":
                key = self.store.remove(event.object)
            else:
                key = self.store.upsert(event.object)
            self._on_change(key)
        return version
