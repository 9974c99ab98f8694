"""The udev broker: opens the device nodes its pod was given and reports what it found.

Each read is non-blocking (``O_NONBLOCK``): a device with nothing to say answers at once with
``EAGAIN`` instead of holding the event loop.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from typing import Any

from akri_brokers.variables import required

PROGRAM = "akri-udev-broker"
READ_BYTES = 64


def devnodes(env: Mapping[str, str]) -> list[str]:
    """The distinct device nodes named by ``UDEV_DEVNODE`` and its suffixed copies, in name order.

    Raises ``SettingsError`` naming ``UDEV_DEVNODE`` when none is set.
    """
    return list(dict.fromkeys(required(env, "UDEV_DEVNODE").values()))


def probe(devnode: str) -> dict[str, Any]:
    """What opening and reading ``devnode`` gives: kind, major/minor, bytes read or the error."""
    found: dict[str, Any] = {"devnode": devnode}
    try:
        info = os.stat(devnode)
    except OSError as err:
        return {**found, "error": f"{errno.errorcode.get(err.errno or 0, 'error')}: {err.strerror}"}
    mode = info.st_mode
    kind = "char" if stat.S_ISCHR(mode) else "block" if stat.S_ISBLK(mode) else "other"
    found.update(kind=kind, mode=oct(stat.S_IMODE(mode)))
    if kind in ("char", "block"):
        found.update(major=os.major(info.st_rdev), minor=os.minor(info.st_rdev))
    try:
        fd = os.open(devnode, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as err:
        return {**found, "error": f"open: {err.strerror}"}
    try:
        data = os.read(fd, READ_BYTES)
        found.update(read_bytes=len(data), sample=data[:16].hex())
    except BlockingIOError:
        found.update(read_bytes=0, sample="")
    except OSError as err:
        found.update(error=f"read: {err.strerror}")
    finally:
        os.close(fd)
    return found


def report(nodes: list[str]) -> dict[str, Any]:
    return {"devices": [probe(node) for node in nodes]}
