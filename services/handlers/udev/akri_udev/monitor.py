"""uevents as an asyncio source: a pyudev netlink monitor read through ``loop.add_reader``.

``Uevents`` opens and starts the monitor on entry (before the first enumeration, so that nothing
that happens during it is missed), drains every queued uevent when the socket becomes readable and
hands them out in batches; a batch waits at most ``timeout`` seconds (then None: time for a full
re-enumeration, as also after the kernel reports dropped uevents). The reader is removed and the socket closed on exit. No thread, no polling.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import pyudev
import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Uevent:
    """What the handler needs from one uevent."""

    action: str
    devpath: str
    old_devpath: str | None = None


def uevent_from_device(device: Any) -> Uevent:
    """Converts a pyudev device received from a monitor."""
    properties = device.properties
    return Uevent(
        action=device.action or "change",
        devpath=device.device_path,
        old_devpath=properties.get("DEVPATH_OLD"),
    )


class Uevents:
    """The uevents of one netlink monitor, in batches."""

    def __init__(self, context: pyudev.Context, *, source: str = "udev") -> None:
        self._context = context
        self._source = source
        self._monitor: Any = None
        self._pending: list[Uevent] = []
        self._lost = False
        self._arrived = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> Self:
        monitor = pyudev.Monitor.from_netlink(self._context, source=self._source)
        monitor.start()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(monitor.fileno(), self._drain)
        self._monitor = monitor
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        monitor, self._monitor = self._monitor, None
        if monitor is None or self._loop is None:
            return
        self._loop.remove_reader(monitor.fileno())
        # pyudev closes the netlink socket when the monitor is released; drop it now.
        del monitor

    def _drain(self) -> None:
        """Reads every uevent queued on the socket without blocking."""
        monitor = self._monitor
        if monitor is None:
            return
        while True:
            try:
                device = monitor.poll(timeout=0)
            except (OSError, pyudev.DeviceNotFoundError) as err:
                # ENOBUFS: the kernel dropped uevents; only a full re-enumeration can catch up.
                log.warning("udev_events_lost", error=str(err))
                self._lost = True
                break
            if device is None:
                break
            event = uevent_from_device(device)
            log.debug("udev_event", action=event.action, devpath=event.devpath)
            self._pending.append(event)
        if self._pending or self._lost:
            self._arrived.set()

    async def next_batch(self, *, timeout: float) -> list[Uevent] | None:
        """The uevents received since the last batch; None when a full re-enumeration is due:
        none came within ``timeout`` seconds, or the kernel dropped some."""
        if not self._pending and not self._lost:
            try:
                async with asyncio.timeout(timeout):
                    await self._arrived.wait()
            except TimeoutError:
                return None
        batch, self._pending = self._pending, []
        lost, self._lost = self._lost, False
        self._arrived.clear()
        return None if lost else batch
