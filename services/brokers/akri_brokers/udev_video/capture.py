"""The capture thread: opens the camera, configures MJPEG, keeps the newest frame, reopens on loss.

Runs in its own thread, so no ioctl or read ever holds the event loop. The node is opened
non-blocking and waited on with ``select`` in short slices, so that ``stop`` is seen within
``POLL_SECONDS``. Any failure (the device gone: ENODEV; unsuitable; stalled) empties the store with
the reason, closes the node and retries after a capped back-off.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import select
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import structlog

from akri_brokers.udev_video import v4l2
from akri_brokers.udev_video.choice import (
    Capabilities,
    IoMethod,
    UnsuitableDeviceError,
    frame_problem,
    frame_rate,
    frame_rates,
    io_method,
    jpeg_format,
    resolution,
    sizes_from,
)
from akri_brokers.udev_video.frames import Frame, FrameStore
from akri_brokers.udev_video.settings import VideoSettings
from akri_common.backoff import delay

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.5
#: Without a frame for this long (or 10 frame intervals, if longer), the device is reopened.
STALL_SECONDS = 5.0
BUFFERS = 4
#: A driver's buffer larger than this is refused (no camera frame comes near it).
MAX_BUFFER_BYTES = 256 * 1024 * 1024
RETRY_INITIAL = 0.5
RETRY_CAP = 10.0
#: A dropped frame is logged the first time and then every this many.
DROP_LOG_EVERY = 100
_OPTIONAL = (errno.ENOTTY, errno.EINVAL)  # a driver without an optional ioctl


class CaptureError(Exception):
    """Capturing stopped for a reason that reopening may cure (a stall, a bad buffer)."""


_T = TypeVar("_T")


def _optional_list(call: Callable[[], list[_T]]) -> list[_T]:
    try:
        return call()
    except OSError as err:
        if err.errno in _OPTIONAL:
            return []
        raise


class Capturer:
    def __init__(self, settings: VideoSettings, store: FrameStore, stop: threading.Event) -> None:
        self.settings = settings
        self.store = store
        self.stop = stop
        self.sequence = 0
        self.dropped = 0
        self._stall_seconds = STALL_SECONDS
        self._last_problem = ""

    def run(self) -> None:
        """Captures until ``stop`` is set, reopening with back-off after each failure."""
        devnode = self.settings.devnode
        failures = 0
        while not self.stop.is_set():
            captured_before = self.sequence
            try:
                self._session()
            except UnsuitableDeviceError as err:
                self._failed(str(err), event="device_unsuitable", reason=err.reason)
            except CaptureError as err:
                self._failed(f"{devnode}: {err}", event="capture_failed", error=str(err))
            except OSError as err:
                name = errno.errorcode.get(err.errno or 0, "error")
                self._failed(
                    f"{devnode}: {name}: {err.strerror}",
                    event="device_failed",
                    errno=name,
                    error=err.strerror,
                )
            except Exception as err:  # noqa: BLE001 - the thread must go on (e.g. mmap's ValueError)
                self._failed(
                    f"{devnode}: {type(err).__name__}: {err}"[:512],
                    event="capture_failed",
                    error=f"{type(err).__name__}: {err}",
                )
            else:
                return  # stopped
            if self.sequence > captured_before:  # it worked for a while: start the back-off anew
                failures = 0
            failures += 1
            self.stop.wait(delay(failures, initial=RETRY_INITIAL, cap=RETRY_CAP))

    def _failed(self, problem: str, *, event: str, **fields: object) -> None:
        """Empties the store with ``problem``; logs it as a warning when it is new (the same
        failure on every retry is logged at debug level)."""
        self.store.fail(problem)
        emit = log.debug if problem == self._last_problem else log.warning
        self._last_problem = problem
        emit(event, devnode=self.settings.devnode, **fields)

    def _session(self) -> None:
        devnode = self.settings.devnode
        fd = os.open(devnode, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            method = self._configure(fd)
            if method is IoMethod.STREAMING:
                self._stream(fd)
            else:
                self._read(fd)
        finally:
            os.close(fd)

    def _configure(self, fd: int) -> IoMethod:
        settings = self.settings
        devnode = settings.devnode
        caps = Capabilities.from_struct(v4l2.query_capability(fd))
        method = io_method(devnode, caps, prefer=settings.io)
        pixel_format = jpeg_format(
            devnode, v4l2.formats(fd), prefer=v4l2.fourcc(settings.pixel_format)
        )
        sizes = sizes_from(_optional_list(lambda: v4l2.frame_sizes(fd, pixel_format)))
        width, height = resolution(sizes, settings.resolution)
        pix = v4l2.set_format(fd, width, height, pixel_format)
        if pix.pixelformat not in (v4l2.PIX_FMT_MJPEG, v4l2.PIX_FMT_JPEG):
            raise UnsuitableDeviceError(
                devnode,
                f"the driver set {v4l2.fourcc_text(pix.pixelformat)} when asked for MJPEG",
            )
        rates = frame_rates(
            _optional_list(lambda: v4l2.frame_intervals(fd, pixel_format, pix.width, pix.height))
        )
        fps = frame_rate(rates, settings.fps)
        try:
            per_frame = v4l2.set_frame_interval(fd, 1, fps)
            if per_frame.numerator > 0 and per_frame.denominator > 0:
                fps = max(1, per_frame.denominator // per_frame.numerator)
        except OSError as err:
            if err.errno not in _OPTIONAL:
                raise
        self._stall_seconds = max(STALL_SECONDS, 10.0 / fps)
        log.info(
            "camera_configured",
            devnode=devnode,
            driver=caps.driver,
            card=caps.card,
            io=method.value,
            format=v4l2.fourcc_text(pix.pixelformat),
            width=int(pix.width),
            height=int(pix.height),
            fps=fps,
            sizeimage=int(pix.sizeimage),
        )
        return method

    def _wait_readable(self, fd: int, since: float) -> bool:
        """True when ``fd`` is readable, False after ``POLL_SECONDS``; raises ``CaptureError``
        once the stall time has passed without a frame since ``since`` (checked before waiting:
        a node that is always readable but never has a frame stalls too)."""
        if time.monotonic() - since > self._stall_seconds:
            raise CaptureError(f"no frame for {self._stall_seconds:.0f}s")
        ready, _, _ = select.select([fd], [], [], POLL_SECONDS)
        return bool(ready)

    def _read(self, fd: int) -> None:
        limit = self.settings.max_frame_bytes
        last = time.monotonic()
        while not self.stop.is_set():
            if not self._wait_readable(fd, last):
                continue
            try:
                data = os.read(fd, limit + 1)  # one more: a larger frame shows as over the limit
            except BlockingIOError:
                self.stop.wait(0.005)  # wait-ok: readable but no frame; do not spin
                continue
            last = time.monotonic()
            self._deliver(data)

    def _stream(self, fd: int) -> None:
        devnode = self.settings.devnode
        count = v4l2.request_buffers(fd, BUFFERS)
        if count < 1:
            raise UnsuitableDeviceError(devnode, "the driver gave no capture buffers")
        maps: list[mmap.mmap] = []
        streaming = False
        try:
            for index in range(count):
                buf = v4l2.query_buffer(fd, index)
                if not 0 < buf.length <= MAX_BUFFER_BYTES:
                    raise CaptureError(f"buffer {index} has a length of {buf.length} bytes")
                maps.append(
                    mmap.mmap(fd, buf.length, mmap.MAP_SHARED, mmap.PROT_READ, offset=buf.m.offset)
                )
            for index in range(count):
                v4l2.queue_buffer(fd, index)
            v4l2.stream_on(fd)
            streaming = True
            self._dequeue(fd, maps)
        finally:
            if streaming:
                _quietly(lambda: v4l2.stream_off(fd))
            for mapped in maps:
                mapped.close()
            _quietly(lambda: v4l2.request_buffers(fd, 0))

    def _dequeue(self, fd: int, maps: list[mmap.mmap]) -> None:
        last = time.monotonic()
        while not self.stop.is_set():
            if not self._wait_readable(fd, last):
                continue
            try:
                buf = v4l2.dequeue_buffer(fd)
            except BlockingIOError:
                self.stop.wait(0.005)  # wait-ok: readable but no buffer; do not spin
                continue
            if buf.index >= len(maps):
                raise CaptureError(f"the driver returned buffer {buf.index} of {len(maps)}")
            mapped = maps[buf.index]
            data = mapped[: min(buf.bytesused, len(mapped))]
            v4l2.queue_buffer(fd, buf.index)
            last = time.monotonic()
            if buf.flags & v4l2.BUF_FLAG_ERROR:
                self._drop("the driver flagged the frame as corrupt")
            else:
                self._deliver(data)

    def _deliver(self, data: bytes) -> None:
        problem = frame_problem(data, self.settings.max_frame_bytes)
        if problem is not None:
            self._drop(problem)
            return
        self.sequence += 1
        self.store.publish(Frame(data=data, sequence=self.sequence, captured_at=time.monotonic()))
        if self._last_problem or self.sequence == 1:
            self._last_problem = ""
            log.info("frames_flowing", devnode=self.settings.devnode, bytes=len(data))

    def _drop(self, problem: str) -> None:
        self.dropped += 1
        if self.dropped % DROP_LOG_EVERY == 1:
            log.warning(
                "frame_dropped", devnode=self.settings.devnode, reason=problem, dropped=self.dropped
            )


def _quietly(call: Callable[[], object]) -> None:
    """Undoing on a device that may be gone: its errors change nothing."""
    with contextlib.suppress(OSError):
        call()
