"""Running a level-based reconciler over keys: a work queue with de-duplication and back-off.

``enqueue(key)`` asks for ``reconcile(key)`` to run; a key queued several times runs once, and a key
enqueued while it runs runs again afterwards, so no change is lost and no key runs concurrently with
itself; up to ``workers`` different keys reconcile at once. ``reconcile`` returns the seconds after
which to look again (or ``None``). One error policy: when it raises an error whose ``retryable`` is
true (or unset), the key is retried after a delay that doubles with each consecutive failure and
resets on success; a non-retryable error is retried only after the cap (a change of the object
brings the key back sooner).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import structlog

from akri_common.backoff import delay

log = structlog.get_logger(__name__)

K = TypeVar("K", bound=Hashable)


class Controller(Generic[K]):
    def __init__(
        self,
        name: str,
        reconcile: Callable[[K], Awaitable[float | None]],
        *,
        backoff_initial: float = 0.5,
        backoff_cap: float = 60.0,
        workers: int = 1,
    ) -> None:
        self.name = name
        self._reconcile = reconcile
        self._backoff_initial = backoff_initial
        self._backoff_cap = backoff_cap
        self._workers = max(1, workers)
        self._queue: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._running: set[K] = set()
        self._again: set[K] = set()
        self._failures: dict[K, int] = {}
        self._timers: dict[K, asyncio.TimerHandle] = {}

    def enqueue(self, key: K, *, after: float = 0.0) -> None:
        if after > 0:
            timer = self._timers.get(key)
            when = asyncio.get_running_loop().time() + after
            if timer is not None and timer.when() <= when:
                return
            if timer is not None:
                timer.cancel()
            self._timers[key] = asyncio.get_running_loop().call_at(when, self._fire, key)
            return
        if key in self._running:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def pending(self) -> int:
        return len(self._queued) + len(self._timers)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.enqueue(key)

    async def run(self) -> None:
        """Processes keys until cancelled."""
        try:
            async with asyncio.TaskGroup() as group:
                for index in range(self._workers):
                    group.create_task(self._work(), name=f"{self.name} worker {index}")
        finally:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            self._running.add(key)
            try:
                await self._one(key)
            finally:
                self._running.discard(key)
            if key in self._again:
                self._again.discard(key)
                self.enqueue(key)

    async def _one(self, key: K) -> None:
        try:
            requeue = await self._reconcile(key)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 (a reconcile failure is retried, never fatal)
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            retryable = bool(getattr(err, "retryable", True))
            wait = (
                delay(failures, initial=self._backoff_initial, cap=self._backoff_cap)
                if retryable
                else self._backoff_cap
            )
            log.warning(
                "reconcile_failed",
                controller=self.name,
                key=str(key),
                error=str(err),
                error_type=type(err).__name__,
                retryable=retryable,
                retry_in=wait,
            )
            self.enqueue(key, after=wait)
            return
        self._failures.pop(key, None)
        if requeue is not None:
            self.enqueue(key, after=requeue)
