"""What the video broker decides from what a device says: pure functions, no I/O.

Whether the node can capture and how (streaming preferred, else ``read()``), which JPEG format,
which resolution and which frame interval: upstream's rule for the last two is "the requested one
if the device lists it, else 640x480 / 10 fps if it lists that, else its first".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from akri_brokers.udev_video import v4l2

DEFAULT_RESOLUTION = (640, 480)
DEFAULT_FPS = 10
#: Formats listed in an error, at most (a device controls how many it lists).
SHOWN_FORMATS = 16


class UnsuitableDeviceError(Exception):
    """The device node cannot give this broker JPEG frames; the message names it and what it
    lacks. Reopening later may help (a different device behind the same node), so the broker
    keeps retrying with back-off."""

    def __init__(self, devnode: str, reason: str) -> None:
        self.devnode = devnode
        self.reason = reason
        super().__init__(f"{devnode}: {reason}")


class IoMethod(Enum):
    STREAMING = "streaming"  # memory-mapped buffers: REQBUFS, QBUF/DQBUF, STREAMON
    READ = "read"  # read() returns one frame per call


@dataclass(frozen=True)
class Capabilities:
    """The decoded answer to VIDIOC_QUERYCAP."""

    driver: str
    card: str
    caps: int  # the node's own capabilities (device_caps when the driver gives them)

    @classmethod
    def from_struct(cls, cap: v4l2.Capability) -> Capabilities:
        caps = cap.device_caps if cap.capabilities & v4l2.CAP_DEVICE_CAPS else cap.capabilities
        return cls(
            driver=_text(bytes(cap.driver)),
            card=_text(bytes(cap.card)),
            caps=int(caps),
        )


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")[:32]


def io_method(devnode: str, caps: Capabilities, *, prefer: IoMethod | None = None) -> IoMethod:
    """How to capture from a node with ``caps``: ``prefer`` when given, else streaming when it has
    it, else read(); ``UnsuitableDeviceError`` when it is no single-planar capture node or lacks
    the I/O method needed."""
    what = f"{caps.card or 'device'} (driver {caps.driver or 'unknown'})"
    if not caps.caps & v4l2.CAP_VIDEO_CAPTURE:
        if caps.caps & v4l2.CAP_META_CAPTURE:
            kind = "a metadata node"
        elif caps.caps & v4l2.CAP_VIDEO_CAPTURE_MPLANE:
            kind = "a multi-planar capture node, which this broker does not support"
        else:
            kind = "not a video capture device"
        raise UnsuitableDeviceError(devnode, f"{what} is {kind}: it lacks VIDEO_CAPTURE")
    available = [
        method
        for method, flag in (
            (IoMethod.STREAMING, v4l2.CAP_STREAMING),
            (IoMethod.READ, v4l2.CAP_READWRITE),
        )
        if caps.caps & flag
    ]
    if prefer is not None and prefer not in available:
        raise UnsuitableDeviceError(devnode, f"{what} offers no {prefer.value} I/O (VIDEO_IO)")
    if not available:
        raise UnsuitableDeviceError(devnode, f"{what} offers neither streaming nor read() I/O")
    return prefer or available[0]


def jpeg_format(devnode: str, offered: Sequence[int], *, prefer: int = v4l2.PIX_FMT_MJPEG) -> int:
    """``prefer`` (MJPG) when the device offers it, else the other JPEG format;
    ``UnsuitableDeviceError`` listing what it offers instead."""
    for wanted in dict.fromkeys((prefer, v4l2.PIX_FMT_MJPEG, v4l2.PIX_FMT_JPEG)):
        if wanted in offered:
            return wanted
    shown = ", ".join(v4l2.fourcc_text(code) for code in offered[:SHOWN_FORMATS])
    more = f" and {len(offered) - SHOWN_FORMATS} more" if len(offered) > SHOWN_FORMATS else ""
    listed = shown + more if offered else "none"
    raise UnsuitableDeviceError(devnode, f"offers no MJPEG (or JPEG) format; it offers: {listed}")


@dataclass(frozen=True)
class SizeRange:
    """A stepwise or continuous range of frame sizes (ENUM_FRAMESIZES)."""

    min_width: int
    max_width: int
    step_width: int
    min_height: int
    max_height: int
    step_height: int

    def holds(self, width: int, height: int) -> bool:
        return _in_steps(width, self.min_width, self.max_width, self.step_width) and _in_steps(
            height, self.min_height, self.max_height, self.step_height
        )


def _in_steps(value: int, low: int, high: int, step: int) -> bool:
    return low <= value <= high and (step <= 1 or (value - low) % step == 0)


Size = tuple[int, int]


def sizes_from(entries: Sequence[v4l2.FrmSizeEnum]) -> list[Size] | SizeRange | None:
    """Discrete sizes, one range, or None when the driver lists nothing."""
    if not entries:
        return None
    first = entries[0]
    if first.type in (v4l2.FRMSIZE_TYPE_STEPWISE, v4l2.FRMSIZE_TYPE_CONTINUOUS):
        s = first.stepwise
        return SizeRange(
            s.min_width, s.max_width, s.step_width, s.min_height, s.max_height, s.step_height
        )
    return [(e.discrete.width, e.discrete.height) for e in entries]


def resolution(offered: list[Size] | SizeRange | None, wanted: Size | None) -> Size:
    """The requested size if offered, else 640x480 if offered, else the first offered (a range's
    minimum); without a list, the requested size (or 640x480) for S_FMT to adjust."""
    candidates = [size for size in (wanted, DEFAULT_RESOLUTION) if size is not None]
    if offered is None:
        return candidates[0]
    if isinstance(offered, SizeRange):
        for size in candidates:
            if offered.holds(*size):
                return size
        return (offered.min_width, offered.min_height)
    for size in candidates:
        if size in offered:
            return size
    return offered[0]


def frame_rates(entries: Sequence[v4l2.FrmIvalEnum]) -> list[int] | None:
    """The whole frame rates (1/interval) a size offers, as listed; None when the driver lists no
    discrete intervals (a stepwise range: S_PARM then adjusts the requested rate)."""
    rates = [
        e.discrete.denominator // e.discrete.numerator
        for e in entries
        if e.type == v4l2.FRMIVAL_TYPE_DISCRETE
        and e.discrete.numerator > 0
        and e.discrete.denominator % e.discrete.numerator == 0
    ]
    return rates or None


def frame_rate(offered: list[int] | None, wanted: int | None) -> int:
    """The requested rate if offered, else 10 fps if offered, else the first offered."""
    candidates = [rate for rate in (wanted, DEFAULT_FPS) if rate is not None]
    if offered is None:
        return candidates[0]
    for rate in candidates:
        if rate in offered:
            return rate
    return offered[0]


JPEG_START = b"\xff\xd8"


def frame_problem(data: bytes, limit: int) -> str | None:
    """Why a captured frame is not served (empty, over ``limit`` bytes, not a JPEG), or None."""
    if not data:
        return "empty frame"
    if len(data) > limit:
        return f"frame over {limit} bytes"
    if not data.startswith(JPEG_START):
        return "frame does not start with a JPEG start-of-image marker"
    return None
