"""The newest frame, or why there is none: written by the capture thread, read on the event loop.

The store is guarded by a lock (two threads touch it); waking the event loop when a frame becomes
available after a gap goes through ``call_soon_threadsafe``, once per gap, not once per frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    data: bytes
    sequence: int  # counts frames served since the broker started
    captured_at: float  # time.monotonic()


class FrameStore:
    def __init__(self, devnode: str) -> None:
        self.devnode = devnode
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._problem = f"{devnode}: no frame captured yet"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._available: asyncio.Event | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Lets ``wait_latest`` on ``loop`` be woken by the capture thread (call on ``loop``)."""
        with self._lock:
            self._loop = loop
            self._available = asyncio.Event()
            if self._frame is not None:
                self._available.set()

    def publish(self, frame: Frame) -> None:
        with self._lock:
            was_empty = self._frame is None
            self._frame = frame
            self._wake(was_empty, available=True)

    def fail(self, problem: str) -> None:
        """No frame until the next ``publish``; ``problem`` says why (GetFrame's error)."""
        with self._lock:
            had_frame = self._frame is not None
            self._frame = None
            self._problem = problem
            self._wake(had_frame, available=False)

    def _wake(self, changed: bool, *, available: bool) -> None:
        if not changed or self._loop is None or self._available is None:
            return
        event = self._available
        with contextlib.suppress(RuntimeError):  # the loop has closed: the broker is stopping
            self._loop.call_soon_threadsafe(event.set if available else event.clear)

    def latest(self) -> Frame | None:
        with self._lock:
            return self._frame

    def problem(self) -> str:
        with self._lock:
            return self._problem

    async def wait_latest(self, timeout: float) -> Frame | None:
        """The newest frame, waiting up to ``timeout`` seconds for one when there is none."""
        frame = self.latest()
        if frame is not None or self._available is None:
            return frame
        try:
            async with asyncio.timeout(timeout):
                await self._available.wait()
        except TimeoutError:
            return None
        return self.latest()
