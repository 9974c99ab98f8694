"""An emulated V4L2 capture device on a umockdev testbed, answering ioctls and read() in-process.

Only modules marked ``umockdev`` import this one. ``EmulatedCamera`` adds a ``video4linux`` node to
a fresh ``UMockdev.Testbed`` and attaches a ``UMockdev.IoctlBase`` whose ``handle-ioctl`` and
``handle-read`` signals answer a process that opened the node under the umockdev preload (the
broker, run by a test under ``umockdev-wrapper``). The handlers run on the testbed's worker thread.

Emulated: VIDIOC_QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES and ENUM_FRAMEINTERVALS (discrete lists),
S_FMT, S_PARM, and both I/O methods: read() (one JPEG per call, cut to the caller's count as a
driver does) and memory-mapped streaming (REQBUFS, QUERYBUF, QBUF, DQBUF, STREAMON, STREAMOFF). The
node is a regular file in the testbed, so the broker's ``mmap`` of it is a real shared mapping:
DQBUF writes the frame into the file at the buffer's offset before answering. Every other ioctl
gets ENOTTY. Frames are paced at the configured rate (a read or DQBUF waits for the next one).

The structures are packed here at the offsets of ``linux/videodev2.h`` (x86-64), independently of
the broker's ctypes layer, so that a layout mistake there shows as a failing test.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gi
import pytest

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

CAP_VIDEO_CAPTURE = 0x00000001
CAP_META_CAPTURE = 0x00800000
CAP_READWRITE = 0x01000000
CAP_STREAMING = 0x04000000
CAP_DEVICE_CAPS = 0x80000000

QUERYCAP = 0x80685600
ENUM_FMT = 0xC0405602
S_FMT = 0xC0D05605
REQBUFS = 0xC0145608
QUERYBUF = 0xC0585609
QBUF = 0xC058560F
DQBUF = 0xC0585611
STREAMON = 0x40045612
STREAMOFF = 0x40045613
S_PARM = 0xC0CC5616
ENUM_FRAMESIZES = 0xC02C564A
ENUM_FRAMEINTERVALS = 0xC034564B

SIZES = {
    QUERYCAP: 104,
    ENUM_FMT: 64,
    S_FMT: 208,
    REQBUFS: 20,
    QUERYBUF: 88,
    QBUF: 88,
    DQBUF: 88,
    STREAMON: 4,
    STREAMOFF: 4,
    S_PARM: 204,
    ENUM_FRAMESIZES: 44,
    ENUM_FRAMEINTERVALS: 52,
}
BUFFER_BYTES = 64 * 1024  # each mmap buffer's length (a page multiple)


def fourcc(code: str) -> int:
    return int.from_bytes(code.encode(), "little")


MJPG = fourcc("MJPG")
YUYV = fourcc("YUYV")


def jpeg(label: bytes) -> bytes:
    """A small JPEG-framed payload: start-of-image, a comment segment holding ``label``, end."""
    return b"\xff\xd8\xff\xfe" + struct.pack(">H", len(label) + 2) + label + b"\xff\xd9"


@dataclass
class CameraModel:
    """What the emulated device says about itself."""

    caps: int = CAP_VIDEO_CAPTURE | CAP_STREAMING | CAP_READWRITE
    formats: Sequence[int] = (YUYV, MJPG)
    sizes: Sequence[tuple[int, int]] = ((320, 240), (640, 480), (1280, 720))
    rates: Sequence[int] = (5, 10, 20)
    card: bytes = b"Emulated Camera"
    frame_bytes: int = 0  # >0: frames padded to this size (for the size limit)


@dataclass
class Emulation:
    """The device's state, changed by the broker's ioctls (read by the test)."""

    format: tuple[int, int, int] | None = None  # width, height, pixelformat after S_FMT
    fps: int | None = None
    buffers: int = 0
    queued: list[int] = field(default_factory=list)
    streaming: bool = False
    reads: int = 0
    read_count: int = 0  # the byte count of the last read() asked for
    dequeues: int = 0
    produced: list[bytes] = field(default_factory=list)  # the newest frames, at most 64
    calls: Counter[int] = field(default_factory=Counter)  # ioctl requests seen, by number


class EmulatedCamera:
    """``/dev/<name>`` on ``testbed``, answered by this object; ``gone`` makes every call fail
    with ENODEV, as a driver does once its device is unplugged."""

    def __init__(self, testbed: Any, model: CameraModel, *, name: str = "video0") -> None:
        self.testbed = testbed
        self.model = model
        self.devnode = f"/dev/{name}"
        self.syspath = f"/sys/devices/virtual/video4linux/{name}"
        self.state = Emulation()
        self.gone = False
        self.frozen = False  # True: DQBUF and read() find no frame (EAGAIN), as a stalled sensor
        self._lock = threading.Lock()
        self._next_due = 0.0
        self._count = 0
        # "N: name=00": a node with contents is a regular file (not a pty), which mmap can map.
        assert testbed.add_from_string(
            f"P: /devices/virtual/video4linux/{name}\nN: {name}=00\n"
            f"E: DEVNAME=/dev/{name}\nE: SUBSYSTEM=video4linux\nA: dev=81:0\n"
        )
        self.file = testbed.get_root_dir() + self.devnode
        self.handler: Any = UMockdev.IoctlBase()
        self._handler_ids = [
            self.handler.connect("handle-ioctl", self._on_ioctl),
            self.handler.connect("handle-read", self._on_read),
        ]
        testbed.attach_ioctl(self.devnode, self.handler)
        self.attached = True

    def unplug(self) -> None:
        """The device goes away: calls on open nodes fail with ENODEV and the node disappears."""
        self.gone = True
        self.testbed.remove_device(self.syspath)

    def detach(self) -> None:
        """The node is no longer answered by this camera (before another is attached)."""
        if self.attached:
            self.attached = False
            self.testbed.detach_ioctl(self.devnode)

    def release(self) -> None:
        """Detaches and disconnects the signal handlers (they hold this object)."""
        self.detach()
        for handler_id in self._handler_ids:
            self.handler.disconnect(handler_id)
        self._handler_ids = []
        self.handler = None
        self.testbed = None

    # The frames

    def _next_frame(self) -> bytes:
        """Waits until the next frame is due (the configured rate), then makes it."""
        interval = 1.0 / (self.state.fps or 10)
        now = time.monotonic()
        if self._next_due > now:
            time.sleep(self._next_due - now)  # wait-ok: the emulated sensor's frame interval
        self._next_due = max(now, self._next_due) + interval
        self._count += 1
        frame = jpeg(b"frame %d of %s" % (self._count, self.devnode.encode()))
        if self.model.frame_bytes > len(frame):
            frame = frame[:-2] + b"\0" * (self.model.frame_bytes - len(frame)) + frame[-2:]
        del self.state.produced[:-63]
        self.state.produced.append(frame)
        return frame

    # umockdev's signals (the testbed's worker thread)

    def _on_read(self, _handler: Any, client: Any) -> bool:
        with self._lock:
            if self.gone:
                client.complete(-1, errno.ENODEV)
                return True
            if self.frozen:
                client.complete(-1, errno.EAGAIN)
                return True
            arg = client.get_arg()
            count = len(arg.retrieve())
            self.state.read_count = count
            frame = self._next_frame()[:count]
            arg.update(0, frame)
            self.state.reads += 1
            client.complete(len(frame), 0)
        return True

    def _on_ioctl(self, _handler: Any, client: Any) -> bool:
        with self._lock:
            request = client.get_request()
            self.state.calls[request] += 1
            if self.gone:
                client.complete(-1, errno.ENODEV)
                return True
            size = SIZES.get(request)
            if size is None:
                client.complete(-1, errno.ENOTTY)
                return True
            data = client.get_arg().resolve(0, size)
            raw = bytearray(data.retrieve())
            try:
                result = self._answer(request, raw)
            except OSError as err:
                client.complete(-1, err.errno)
                return True
            data.update(0, bytes(raw))
            client.complete(result, 0)
        return True

    def _answer(self, request: int, raw: bytearray) -> int:  # noqa: PLR0911, PLR0912 - one branch per ioctl
        model, state = self.model, self.state
        if request == QUERYCAP:
            raw[:] = bytes(104)
            raw[0:8] = b"emulated"
            raw[16 : 16 + len(model.card)] = model.card
            raw[48:64] = b"platform:umockde"
            struct.pack_into("<III", raw, 80, 0x060A00, model.caps | CAP_DEVICE_CAPS, model.caps)
            return 0
        if request == ENUM_FMT:
            index, kind = struct.unpack_from("<II", raw, 0)
            if kind != 1 or index >= len(model.formats):
                raise OSError(errno.EINVAL, "no such format")
            code = model.formats[index]
            raw[12:44] = code.to_bytes(4, "little").ljust(32, b"\0")
            struct.pack_into("<I", raw, 44, code)
            return 0
        if request == ENUM_FRAMESIZES:
            index, code = struct.unpack_from("<II", raw, 0)
            if code not in model.formats or index >= len(model.sizes):
                raise OSError(errno.EINVAL, "no such size")
            struct.pack_into("<III", raw, 8, 1, *model.sizes[index])  # DISCRETE
            return 0
        if request == ENUM_FRAMEINTERVALS:
            index, code, width, height = struct.unpack_from("<IIII", raw, 0)
            if (width, height) not in model.sizes or index >= len(model.rates):
                raise OSError(errno.EINVAL, "no such interval")
            struct.pack_into("<III", raw, 16, 1, 1, model.rates[index])  # DISCRETE, 1/rate
            return 0
        if request == S_FMT:
            kind, width, height, code = struct.unpack_from("<I4xIII", raw, 0)
            if kind != 1:
                raise OSError(errno.EINVAL, "not the capture queue")
            if state.streaming:
                raise OSError(errno.EBUSY, "streaming")
            if (width, height) not in model.sizes:
                width, height = model.sizes[0]
            if code not in model.formats:
                code = model.formats[0]
            state.format = (width, height, code)
            struct.pack_into("<IIIIII", raw, 8, width, height, code, 1, 0, BUFFER_BYTES)
            return 0
        if request == S_PARM:
            numerator, denominator = struct.unpack_from("<II", raw, 12)
            wanted = denominator // numerator if numerator else 10
            state.fps = wanted if wanted in model.rates else model.rates[0]
            struct.pack_into("<III", raw, 4, 0x1000, 0, 1)  # TIMEPERFRAME capability
            struct.pack_into("<I", raw, 16, state.fps)
            return 0
        return self._answer_streaming(request, raw)

    def _answer_streaming(self, request: int, raw: bytearray) -> int:
        state = self.state
        if not self.model.caps & CAP_STREAMING:
            raise OSError(errno.ENOTTY, "no streaming")
        if request == REQBUFS:
            count, kind, memory = struct.unpack_from("<III", raw, 0)
            if kind != 1 or memory != 1:
                raise OSError(errno.EINVAL, "only mmap capture buffers")
            count = min(count, 8)
            state.buffers = count
            state.queued = []
            with open(self.file, "r+b") as node:  # the mapped memory: the node file itself
                node.truncate(max(1, count * BUFFER_BYTES))
            struct.pack_into("<I", raw, 0, count)
            return 0
        if request in (QUERYBUF, QBUF):
            index = struct.unpack_from("<I", raw, 0)[0]
            if index >= state.buffers:
                raise OSError(errno.EINVAL, "no such buffer")
            if request == QBUF:
                state.queued.append(index)
            struct.pack_into("<I", raw, 64, index * BUFFER_BYTES)  # m.offset
            struct.pack_into("<I", raw, 72, BUFFER_BYTES)  # length
            return 0
        if request == DQBUF:
            if not state.streaming or not state.queued or self.frozen:
                raise OSError(errno.EAGAIN, "no buffer ready")
            index = state.queued.pop(0)
            frame = self._next_frame()[:BUFFER_BYTES]
            with open(self.file, "r+b") as node:
                node.seek(index * BUFFER_BYTES)
                node.write(frame)
            state.dequeues += 1
            struct.pack_into("<III", raw, 0, index, 1, len(frame))  # index, type, bytesused
            struct.pack_into("<I", raw, 56, state.dequeues)  # sequence
            struct.pack_into("<I", raw, 64, index * BUFFER_BYTES)
            struct.pack_into("<I", raw, 72, BUFFER_BYTES)
            return 0
        if request in (STREAMON, STREAMOFF):
            state.streaming = request == STREAMON
            if not state.streaming:
                state.queued = []
            return 0
        raise OSError(errno.ENOTTY, "not emulated")


class VideoBed:
    """One test's ``UMockdev.Testbed`` and the cameras on it, dropped for sure by ``close``.

    The handlers' signal connections tie each camera to its GObject handler in a cycle Python's
    collector cannot see through, so ``close`` disconnects them; then the testbed is released and
    collected, which removes its directory and unsets ``UMOCKDEV_DIR`` (else later tests in the
    same process would keep seeing the emulated /sys and /dev).
    """

    def __init__(self) -> None:
        self.testbed: Any = UMockdev.Testbed.new()
        self.root: str = self.testbed.get_root_dir()
        self.cameras: list[EmulatedCamera] = []

    def camera(self, model: CameraModel) -> EmulatedCamera:
        """A camera at /dev/video0 (a new one replaces a detached one, as a re-plugged device)."""
        camera = EmulatedCamera(self.testbed, model)
        self.cameras.append(camera)
        return camera

    def close(self) -> None:
        for camera in self.cameras:
            camera.release()
        self.cameras.clear()
        self.testbed = None
        gc.collect()
        assert not os.path.exists(self.root), f"testbed {self.root} outlived its test"


@contextlib.contextmanager
def video_bed(runner: str = "umockdev-wrapper") -> Iterator[VideoBed]:
    """A fresh ``VideoBed``, closed on exit; skips the test without the umockdev preload."""
    if "umockdev" not in os.environ.get("LD_PRELOAD", ""):
        pytest.skip(f"needs the umockdev preload: run pytest under {runner}")
    bed = VideoBed()
    try:
        yield bed
    finally:
        bed.close()
