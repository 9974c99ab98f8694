"""Watching one file for changes with Linux inotify (through ctypes), driven by the event loop.

``file_changes(path)`` watches the file's parent directory (so that creation, deletion and atomic
renames are seen, not only writes to an existing file) and wakes through ``loop.add_reader``: no
polling, no thread, no extra dependency. Events that arrive together are coalesced into one wake-up.
Handlers use it for the files they report on, the SDK for the agent's registration socket, the
agent for kubelet's registration socket (a kubelet restart re-creates it).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import struct
from collections.abc import AsyncGenerator
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_IGNORED = 0x00008000

#: What makes a file's content or existence change, seen from its directory.
FILE_EVENTS = IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
#: A new file appearing under the name (created, or moved in).
CREATED = IN_CREATE | IN_MOVED_TO
#: The directory itself went away: the watch is over.
_DIRECTORY_GONE = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED

_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)
_READ_SIZE = 64 * 1024


class WatchError(OSError):
    """inotify is unavailable or the directory cannot be watched (missing, no permission)."""


def parse_events(buffer: bytes) -> list[tuple[int, str]]:
    """Splits what ``read`` returned from an inotify descriptor into ``(mask, name)`` pairs."""
    events: list[tuple[int, str]] = []
    offset = 0
    while offset + _HEADER.size <= len(buffer):
        _wd, mask, _cookie, length = _HEADER.unpack_from(buffer, offset)
        offset += _HEADER.size
        raw = buffer[offset : offset + length]
        offset += length
        events.append((mask, os.fsdecode(raw.split(b"\0", 1)[0])))
    return events


def concerns(
    events: list[tuple[int, str]], name: str, *, kinds: int = FILE_EVENTS
) -> tuple[bool, bool]:
    """Whether any event of ``kinds`` touches the file ``name``, and whether the watch has ended."""
    touched = any(mask & kinds and event_name == name for mask, event_name in events)
    ended = any(mask & _DIRECTORY_GONE for mask, _ in events)
    return touched, ended


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _absolute(path: Path) -> Path:
    return Path(path).absolute()  # no I/O: joins the working directory


def _open_watch(directory: Path, kinds: int) -> int:
    libc = _libc()
    fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
    if fd < 0:
        errno = ctypes.get_errno()
        raise WatchError(errno, f"inotify_init1: {os.strerror(errno)}")
    mask = kinds | IN_DELETE_SELF | IN_MOVE_SELF
    if libc.inotify_add_watch(fd, os.fsencode(directory), mask) < 0:
        errno = ctypes.get_errno()
        os.close(fd)
        raise WatchError(errno, f"cannot watch {directory}: {os.strerror(errno)}")
    return fd


async def file_changes(
    path: Path, *, kinds: int = FILE_EVENTS, initial: bool = True
) -> AsyncGenerator[None, None]:
    """Yields once at once (read the file's current state then), then after every change to it.

    A change is, by default, the file being created, written and closed, moved in or out, or
    deleted; ``kinds`` narrows it (``CREATED``: only a new file appearing). With ``initial=False``
    there is no first yield. The watch is in place before the generator first runs, so nothing that
    happens after it is missed. The iteration ends when the parent directory itself is deleted or
    moved. Close the generator (``aclose`` or ``contextlib.aclosing``) to release the inotify
    descriptor promptly.
    """
    path = _absolute(path)
    loop = asyncio.get_running_loop()
    fd = _open_watch(path.parent, kinds)
    wake = asyncio.Event()
    state = {"ended": False}

    def on_readable() -> None:
        try:
            buffer = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return
        touched, ended = concerns(parse_events(buffer), path.name, kinds=kinds)
        if ended:
            state["ended"] = True
        if touched or ended:
            wake.set()

    loop.add_reader(fd, on_readable)
    try:
        if initial:
            yield
        while not state["ended"]:
            await wake.wait()
            wake.clear()
            yield
        log.debug("file_watch_ended", path=str(path), reason="directory removed")
    finally:
        loop.remove_reader(fd)
        os.close(fd)
