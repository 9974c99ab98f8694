"""A camera's newest frame, and a way to wait for the next one without queueing any.

The frame loop ``publish``es; every viewer remembers the sequence number it sent last and
``next_after`` gives it the newest frame past that one (frames in between are skipped: a slow
browser gets fewer frames, it never makes anything buffer). ``close`` wakes every viewer for good.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    seq: int
    jpeg: bytes
    camera: str  # as the camera names itself in its reply (cleaned), maybe empty
    at: float  # time.monotonic() when received


class FrameSlot:
    def __init__(self) -> None:
        self.latest: Frame | None = None
        self.closed = False
        self.error = ""  # the last failure, cleared by a frame
        self.frames = 0
        self._changed = asyncio.Event()

    def publish(self, jpeg: bytes, camera: str) -> None:
        seq = self.latest.seq + 1 if self.latest else 1
        self.latest = Frame(seq, jpeg, camera, time.monotonic())
        self.frames += 1
        self.error = ""
        self._wake()

    def fail(self, error: str) -> None:
        self.error = error[:200]

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def next_after(self, seq: int, *, timeout: float) -> Frame | None:
        """The newest frame with a sequence number above ``seq``, waiting up to ``timeout``;
        None on timeout or once closed."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.closed:
            if self.latest is not None and self.latest.seq > seq:
                return self.latest
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            changed = self._changed
            try:
                async with asyncio.timeout(remaining):
                    await changed.wait()
            except TimeoutError:
                return None
        return None
