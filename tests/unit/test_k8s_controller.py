"""The reconcile queue: several keys at once, never one key twice, one error policy."""

from __future__ import annotations

import asyncio
import contextlib

from akri_common.k8s.controller import Controller


class FlakyError(Exception):
    def __init__(self, *, retryable: bool) -> None:
        self.retryable = retryable
        super().__init__("flaky")


async def test_keys_run_concurrently_but_never_twice_at_once() -> None:
    running: set[str] = set()
    overlap: list[str] = []
    runs: dict[str, int] = {}
    three_at_once, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def reconcile(key: str) -> float | None:
        if key in running:
            overlap.append(key)
        running.add(key)
        runs[key] = runs.get(key, 0) + 1
        if len(running) == 3:
            three_at_once.set()
        await release.wait()
        running.discard(key)
        if runs.get("a") == 2 and not running:
            finished.set()
        return None

    controller: Controller[str] = Controller("t", reconcile, workers=3)
    task = asyncio.create_task(controller.run())
    for key in ("a", "b", "c", "a"):
        controller.enqueue(key)
    async with asyncio.timeout(5):
        await three_at_once.wait()
        controller.enqueue("a")  # while "a" runs: it runs once more afterwards
        release.set()
        await finished.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert overlap == []
    assert runs == {"a": 2, "b": 1, "c": 1}


async def test_a_non_retryable_error_waits_for_the_cap() -> None:
    calls: list[str] = []
    retried = asyncio.Event()

    async def reconcile(key: str) -> float | None:
        calls.append(key)
        if calls.count("retry") == 4:
            retried.set()
        raise FlakyError(retryable=key == "retry")

    controller: Controller[str] = Controller("t", reconcile, backoff_initial=0.01, backoff_cap=30.0)
    task = asyncio.create_task(controller.run())
    controller.enqueue("retry")
    controller.enqueue("stop")
    async with asyncio.timeout(5):
        await retried.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert calls.count("stop") == 1, "retried only after the cap"
