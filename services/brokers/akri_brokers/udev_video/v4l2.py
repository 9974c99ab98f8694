"""The few V4L2 ioctls the video broker needs, as ctypes structures and ``fcntl.ioctl`` calls.

Only what capturing JPEG frames takes: QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS,
S_FMT, S_PARM, and the memory-mapped streaming set (REQBUFS, QUERYBUF, QBUF, DQBUF, STREAMON,
STREAMOFF). The structures follow ``linux/videodev2.h``; their sizes (and so the ioctl numbers,
which encode them) come from ctypes' native layout, as the kernel's C compiler lays them out.
Every call raises ``OSError`` with the kernel's errno; nothing here decides anything.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
from collections.abc import Iterator
from typing import TypeVar

# linux/videodev2.h: capabilities (QUERYCAP)
CAP_VIDEO_CAPTURE = 0x00000001
CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
CAP_META_CAPTURE = 0x00800000
CAP_READWRITE = 0x01000000
CAP_STREAMING = 0x04000000
CAP_DEVICE_CAPS = 0x80000000

BUF_TYPE_VIDEO_CAPTURE = 1
MEMORY_MMAP = 1
BUF_FLAG_ERROR = 0x00000040
FIELD_ANY = 0
FRMSIZE_TYPE_DISCRETE = 1
FRMSIZE_TYPE_CONTINUOUS = 2
FRMSIZE_TYPE_STEPWISE = 3
FRMIVAL_TYPE_DISCRETE = 1


def fourcc(code: str) -> int:
    """The pixel format number of a four-character code: ``fourcc("MJPG")``."""
    data = code.encode("ascii")
    if len(data) != 4:
        raise ValueError(f"a fourcc has 4 characters, not {len(data)}")
    return int.from_bytes(data, "little")


def fourcc_text(value: int) -> str:
    """A pixel format number as its code, printable characters only (``?`` for others)."""
    raw = (value & 0xFFFFFFFF).to_bytes(4, "little")
    return "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in raw)


PIX_FMT_MJPEG = fourcc("MJPG")
PIX_FMT_JPEG = fourcc("JPEG")

_u8 = ctypes.c_uint8
_u32 = ctypes.c_uint32


class Capability(ctypes.Structure):
    _fields_ = (
        ("driver", ctypes.c_char * 16),
        ("card", ctypes.c_char * 32),
        ("bus_info", ctypes.c_char * 32),
        ("version", _u32),
        ("capabilities", _u32),
        ("device_caps", _u32),
        ("reserved", _u32 * 3),
    )


class FmtDesc(ctypes.Structure):
    _fields_ = (
        ("index", _u32),
        ("type", _u32),
        ("flags", _u32),
        ("description", ctypes.c_char * 32),
        ("pixelformat", _u32),
        ("mbus_code", _u32),
        ("reserved", _u32 * 3),
    )


class PixFormat(ctypes.Structure):
    _fields_ = (
        ("width", _u32),
        ("height", _u32),
        ("pixelformat", _u32),
        ("field", _u32),
        ("bytesperline", _u32),
        ("sizeimage", _u32),
        ("colorspace", _u32),
        ("priv", _u32),
        ("flags", _u32),
        ("ycbcr_enc", _u32),
        ("quantization", _u32),
        ("xfer_func", _u32),
    )


class _FormatUnion(ctypes.Union):
    # raw_data[200]; the kernel's union also holds v4l2_window (with pointers): 8-byte aligned.
    _fields_ = (("pix", PixFormat), ("raw_data", _u8 * 200), ("_align", ctypes.c_void_p))


class Format(ctypes.Structure):
    _fields_ = (("type", _u32), ("fmt", _FormatUnion))


class Fract(ctypes.Structure):
    _fields_ = (("numerator", _u32), ("denominator", _u32))


class FrmSizeDiscrete(ctypes.Structure):
    _fields_ = (("width", _u32), ("height", _u32))


class FrmSizeStepwise(ctypes.Structure):
    _fields_ = (
        ("min_width", _u32),
        ("max_width", _u32),
        ("step_width", _u32),
        ("min_height", _u32),
        ("max_height", _u32),
        ("step_height", _u32),
    )


class _FrmSizeUnion(ctypes.Union):
    _fields_ = (("discrete", FrmSizeDiscrete), ("stepwise", FrmSizeStepwise))


class FrmSizeEnum(ctypes.Structure):
    _anonymous_ = ("u",)
    _fields_ = (
        ("index", _u32),
        ("pixel_format", _u32),
        ("type", _u32),
        ("u", _FrmSizeUnion),
        ("reserved", _u32 * 2),
    )


class FrmIvalStepwise(ctypes.Structure):
    _fields_ = (("min", Fract), ("max", Fract), ("step", Fract))


class _FrmIvalUnion(ctypes.Union):
    _fields_ = (("discrete", Fract), ("stepwise", FrmIvalStepwise))


class FrmIvalEnum(ctypes.Structure):
    _anonymous_ = ("u",)
    _fields_ = (
        ("index", _u32),
        ("pixel_format", _u32),
        ("width", _u32),
        ("height", _u32),
        ("type", _u32),
        ("u", _FrmIvalUnion),
        ("reserved", _u32 * 2),
    )


class CaptureParm(ctypes.Structure):
    _fields_ = (
        ("capability", _u32),
        ("capturemode", _u32),
        ("timeperframe", Fract),
        ("extendedmode", _u32),
        ("readbuffers", _u32),
        ("reserved", _u32 * 4),
    )


class _ParmUnion(ctypes.Union):
    _fields_ = (("capture", CaptureParm), ("raw_data", _u8 * 200))


class StreamParm(ctypes.Structure):
    _fields_ = (("type", _u32), ("parm", _ParmUnion))


class RequestBuffers(ctypes.Structure):
    _fields_ = (
        ("count", _u32),
        ("type", _u32),
        ("memory", _u32),
        ("capabilities", _u32),
        ("flags", _u8),
        ("reserved", _u8 * 3),
    )


class Timeval(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long))


class Timecode(ctypes.Structure):
    _fields_ = (
        ("type", _u32),
        ("flags", _u32),
        ("frames", _u8),
        ("seconds", _u8),
        ("minutes", _u8),
        ("hours", _u8),
        ("userbits", _u8 * 4),
    )


class _BufferM(ctypes.Union):
    _fields_ = (
        ("offset", _u32),
        ("userptr", ctypes.c_ulong),
        ("planes", ctypes.c_void_p),
        ("fd", ctypes.c_int32),
    )


class Buffer(ctypes.Structure):
    _fields_ = (
        ("index", _u32),
        ("type", _u32),
        ("bytesused", _u32),
        ("flags", _u32),
        ("field", _u32),
        ("timestamp", Timeval),
        ("timecode", Timecode),
        ("sequence", _u32),
        ("memory", _u32),
        ("m", _BufferM),
        ("length", _u32),
        ("reserved2", _u32),
        ("request_fd", ctypes.c_int32),
    )


# asm-generic/ioctl.h
_IOC_WRITE = 1
_IOC_READ = 2


def _ioc(direction: int, number: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("V") << 8) | number


def _iowr(number: int, struct: type[ctypes.Structure] | type[ctypes.c_int]) -> int:
    return _ioc(_IOC_READ | _IOC_WRITE, number, ctypes.sizeof(struct))


VIDIOC_QUERYCAP = _ioc(_IOC_READ, 0, ctypes.sizeof(Capability))
VIDIOC_ENUM_FMT = _iowr(2, FmtDesc)
VIDIOC_S_FMT = _iowr(5, Format)
VIDIOC_REQBUFS = _iowr(8, RequestBuffers)
VIDIOC_QUERYBUF = _iowr(9, Buffer)
VIDIOC_QBUF = _iowr(15, Buffer)
VIDIOC_DQBUF = _iowr(17, Buffer)
VIDIOC_STREAMON = _ioc(_IOC_WRITE, 18, ctypes.sizeof(ctypes.c_int))
VIDIOC_STREAMOFF = _ioc(_IOC_WRITE, 19, ctypes.sizeof(ctypes.c_int))
VIDIOC_S_PARM = _iowr(22, StreamParm)
VIDIOC_ENUM_FRAMESIZES = _iowr(74, FrmSizeEnum)
VIDIOC_ENUM_FRAMEINTERVALS = _iowr(75, FrmIvalEnum)

#: No device lists more entries than this (formats, sizes, intervals); a longer list is cut here.
MAX_ENTRIES = 64


def _call(fd: int, request: int, arg: ctypes.Structure | ctypes.c_int) -> None:
    fcntl.ioctl(fd, request, arg, True)


_Entry = TypeVar("_Entry", FmtDesc, FrmSizeEnum, FrmIvalEnum)


def query_capability(fd: int) -> Capability:
    cap = Capability()
    _call(fd, VIDIOC_QUERYCAP, cap)
    return cap


def _enumerate(fd: int, request: int, make: type[_Entry], **fields: int) -> Iterator[_Entry]:
    """Entries 0, 1, ... until the driver answers EINVAL (past the last one), at most
    ``MAX_ENTRIES``; other errors (ENOTTY: the driver has no such list) are raised."""
    for index in range(MAX_ENTRIES):
        entry = make(index=index, **fields)
        try:
            _call(fd, request, entry)
        except OSError as err:
            if err.errno == errno.EINVAL:
                return
            raise
        yield entry


def formats(fd: int) -> list[int]:
    """The pixel formats the capture queue offers, as fourcc numbers."""
    return [
        desc.pixelformat
        for desc in _enumerate(fd, VIDIOC_ENUM_FMT, FmtDesc, type=BUF_TYPE_VIDEO_CAPTURE)
    ]


def frame_sizes(fd: int, pixel_format: int) -> list[FrmSizeEnum]:
    return list(_enumerate(fd, VIDIOC_ENUM_FRAMESIZES, FrmSizeEnum, pixel_format=pixel_format))


def frame_intervals(fd: int, pixel_format: int, width: int, height: int) -> list[FrmIvalEnum]:
    return list(
        _enumerate(
            fd,
            VIDIOC_ENUM_FRAMEINTERVALS,
            FrmIvalEnum,
            pixel_format=pixel_format,
            width=width,
            height=height,
        )
    )


def set_format(fd: int, width: int, height: int, pixel_format: int) -> PixFormat:
    """S_FMT on the capture queue; returns what the driver settled on (it may adjust)."""
    fmt = Format(type=BUF_TYPE_VIDEO_CAPTURE)
    fmt.fmt.pix.width = width
    fmt.fmt.pix.height = height
    fmt.fmt.pix.pixelformat = pixel_format
    fmt.fmt.pix.field = FIELD_ANY
    _call(fd, VIDIOC_S_FMT, fmt)
    pix: PixFormat = fmt.fmt.pix
    return pix


def set_frame_interval(fd: int, numerator: int, denominator: int) -> Fract:
    """S_PARM: ``numerator/denominator`` seconds per frame; returns what the driver set."""
    parm = StreamParm(type=BUF_TYPE_VIDEO_CAPTURE)
    parm.parm.capture.timeperframe = Fract(numerator, denominator)
    _call(fd, VIDIOC_S_PARM, parm)
    per_frame: Fract = parm.parm.capture.timeperframe
    return per_frame


def request_buffers(fd: int, count: int) -> int:
    """REQBUFS for memory-mapped capture buffers (0 frees them); returns how many were given."""
    req = RequestBuffers(count=count, type=BUF_TYPE_VIDEO_CAPTURE, memory=MEMORY_MMAP)
    _call(fd, VIDIOC_REQBUFS, req)
    return int(req.count)


def query_buffer(fd: int, index: int) -> Buffer:
    buf = Buffer(index=index, type=BUF_TYPE_VIDEO_CAPTURE, memory=MEMORY_MMAP)
    _call(fd, VIDIOC_QUERYBUF, buf)
    return buf


def queue_buffer(fd: int, index: int) -> None:
    _call(fd, VIDIOC_QBUF, Buffer(index=index, type=BUF_TYPE_VIDEO_CAPTURE, memory=MEMORY_MMAP))


def dequeue_buffer(fd: int) -> Buffer:
    """DQBUF: the next filled buffer (``BlockingIOError`` on a non-blocking fd with none ready)."""
    buf = Buffer(type=BUF_TYPE_VIDEO_CAPTURE, memory=MEMORY_MMAP)
    _call(fd, VIDIOC_DQBUF, buf)
    return buf


def stream_on(fd: int) -> None:
    _call(fd, VIDIOC_STREAMON, ctypes.c_int(BUF_TYPE_VIDEO_CAPTURE))


def stream_off(fd: int) -> None:
    _call(fd, VIDIOC_STREAMOFF, ctypes.c_int(BUF_TYPE_VIDEO_CAPTURE))
