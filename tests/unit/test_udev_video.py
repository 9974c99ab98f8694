"""The udev video broker's pure parts: the V4L2 layout, its decisions, its settings, its frame store."""

from __future__ import annotations

import asyncio
import ctypes

import pytest

from akri_brokers.udev_video import v4l2
from akri_brokers.udev_video.choice import (
    Capabilities,
    IoMethod,
    SizeRange,
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
from akri_brokers.udev_video.settings import VideoSettings, video_devnode
from akri_common.settings import SettingsError

DEV = "/dev/video0"


def test_ioctl_numbers_are_the_kernels() -> None:
    # The values linux/videodev2.h gives on x86-64 (each encodes its structure's size).
    assert v4l2.VIDIOC_QUERYCAP == 0x80685600
    assert v4l2.VIDIOC_ENUM_FMT == 0xC0405602
    assert v4l2.VIDIOC_S_FMT == 0xC0D05605
    assert v4l2.VIDIOC_REQBUFS == 0xC0145608
    assert v4l2.VIDIOC_QUERYBUF == 0xC0585609
    assert v4l2.VIDIOC_QBUF == 0xC058560F
    assert v4l2.VIDIOC_DQBUF == 0xC0585611
    assert v4l2.VIDIOC_STREAMON == 0x40045612
    assert v4l2.VIDIOC_STREAMOFF == 0x40045613
    assert v4l2.VIDIOC_S_PARM == 0xC0CC5616
    assert v4l2.VIDIOC_ENUM_FRAMESIZES == 0xC02C564A
    assert v4l2.VIDIOC_ENUM_FRAMEINTERVALS == 0xC034564B


def test_buffer_fields_sit_at_the_kernels_offsets() -> None:
    assert v4l2.Buffer.timestamp.offset == 24
    assert v4l2.Buffer.sequence.offset == 56
    assert v4l2.Buffer.m.offset == 64
    assert v4l2.Buffer.length.offset == 72
    assert ctypes.sizeof(v4l2.Format) == 208
    assert v4l2.Format.fmt.offset == 8


def test_fourcc_round_trips_and_shows_only_printable_characters() -> None:
    assert v4l2.fourcc("MJPG") == 0x47504A4D
    assert v4l2.fourcc_text(v4l2.PIX_FMT_MJPEG) == "MJPG"
    assert v4l2.fourcc_text(0x0A00FF41) == "A???"
    with pytest.raises(ValueError, match="4 characters"):
        v4l2.fourcc("MJPEG")


def caps(flags: int, *, device_caps: int | None = None) -> Capabilities:
    raw = v4l2.Capability(driver=b"uvcvideo", card=b"HD Pro Webcam C920")
    raw.capabilities = flags | (v4l2.CAP_DEVICE_CAPS if device_caps is not None else 0)
    raw.device_caps = device_caps or 0
    return Capabilities.from_struct(raw)


CAPTURE = v4l2.CAP_VIDEO_CAPTURE


def test_the_nodes_own_device_caps_win_over_the_whole_devices() -> None:
    # A UVC camera: the device can capture and carries metadata; this node is the metadata one.
    node = caps(
        CAPTURE | v4l2.CAP_META_CAPTURE | v4l2.CAP_STREAMING,
        device_caps=v4l2.CAP_META_CAPTURE | v4l2.CAP_STREAMING,
    )
    with pytest.raises(UnsuitableDeviceError) as caught:
        io_method(DEV, node)
    assert str(caught.value) == (
        f"{DEV}: HD Pro Webcam C920 (driver uvcvideo) is a metadata node: it lacks VIDEO_CAPTURE"
    )
    assert caps(CAPTURE | v4l2.CAP_STREAMING).card == "HD Pro Webcam C920"


@pytest.mark.parametrize(
    ("flags", "prefer", "expected"),
    [
        (CAPTURE | v4l2.CAP_STREAMING | v4l2.CAP_READWRITE, None, IoMethod.STREAMING),
        (CAPTURE | v4l2.CAP_STREAMING | v4l2.CAP_READWRITE, IoMethod.READ, IoMethod.READ),
        (CAPTURE | v4l2.CAP_READWRITE, None, IoMethod.READ),
        (CAPTURE | v4l2.CAP_STREAMING, None, IoMethod.STREAMING),
    ],
)
def test_io_method(flags: int, prefer: IoMethod | None, expected: IoMethod) -> None:
    assert io_method(DEV, caps(flags), prefer=prefer) is expected


@pytest.mark.parametrize(
    ("flags", "prefer", "message"),
    [
        (v4l2.CAP_STREAMING, None, "is not a video capture device: it lacks VIDEO_CAPTURE"),
        (v4l2.CAP_VIDEO_CAPTURE_MPLANE | v4l2.CAP_STREAMING, None, "multi-planar"),
        (CAPTURE, None, "offers neither streaming nor read() I/O"),
        (CAPTURE | v4l2.CAP_STREAMING, IoMethod.READ, "offers no read I/O (VIDEO_IO)"),
    ],
)
def test_io_method_refuses(flags: int, prefer: IoMethod | None, message: str) -> None:
    with pytest.raises(
        UnsuitableDeviceError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        io_method(DEV, caps(flags), prefer=prefer)


def test_jpeg_format_prefers_mjpeg_and_names_what_else_is_offered() -> None:
    yuyv, nv12 = v4l2.fourcc("YUYV"), v4l2.fourcc("NV12")
    assert jpeg_format(DEV, [yuyv, v4l2.PIX_FMT_JPEG, v4l2.PIX_FMT_MJPEG]) == v4l2.PIX_FMT_MJPEG
    assert jpeg_format(DEV, [yuyv, v4l2.PIX_FMT_JPEG]) == v4l2.PIX_FMT_JPEG
    both = [v4l2.PIX_FMT_MJPEG, v4l2.PIX_FMT_JPEG]
    assert jpeg_format(DEV, both, prefer=v4l2.PIX_FMT_JPEG) == v4l2.PIX_FMT_JPEG
    with pytest.raises(UnsuitableDeviceError) as caught:
        jpeg_format(DEV, [yuyv, nv12])
    assert str(caught.value) == f"{DEV}: offers no MJPEG (or JPEG) format; it offers: YUYV, NV12"
    with pytest.raises(UnsuitableDeviceError, match="it offers: none"):
        jpeg_format(DEV, [])
    with pytest.raises(UnsuitableDeviceError, match=r"and 4 more$"):
        jpeg_format(DEV, [yuyv] * 20)


def discrete(*sizes: tuple[int, int]) -> list[v4l2.FrmSizeEnum]:
    entries = []
    for index, (width, height) in enumerate(sizes):
        entry = v4l2.FrmSizeEnum(index=index, type=v4l2.FRMSIZE_TYPE_DISCRETE)
        entry.discrete.width, entry.discrete.height = width, height
        entries.append(entry)
    return entries


def test_resolution_follows_upstreams_rule() -> None:
    offered = sizes_from(discrete((160, 120), (424, 240), (640, 480)))
    assert resolution(offered, (424, 240)) == (424, 240)
    assert resolution(offered, (1920, 1080)) == (640, 480)  # the default, offered
    assert resolution(offered, None) == (640, 480)
    assert resolution(sizes_from(discrete((200, 100), (1000, 800))), None) == (200, 100)
    assert resolution(None, (1280, 720)) == (1280, 720)  # no list: S_FMT adjusts
    assert resolution(None, None) == (640, 480)


def test_resolution_in_a_stepwise_range() -> None:
    entry = v4l2.FrmSizeEnum(type=v4l2.FRMSIZE_TYPE_STEPWISE)
    entry.stepwise = v4l2.FrmSizeStepwise(160, 1280, 8, 120, 960, 8)
    offered = sizes_from([entry])
    assert offered == SizeRange(160, 1280, 8, 120, 960, 8)
    assert resolution(offered, (424, 240)) == (424, 240)
    assert resolution(offered, (425, 240)) == (640, 480)  # off the step: the default
    assert resolution(offered, (2000, 240)) == (640, 480)
    assert resolution(SizeRange(800, 1280, 16, 600, 960, 16), None) == (800, 600)


def intervals(*pairs: tuple[int, int]) -> list[v4l2.FrmIvalEnum]:
    entries = []
    for index, (numerator, denominator) in enumerate(pairs):
        entry = v4l2.FrmIvalEnum(index=index, type=v4l2.FRMIVAL_TYPE_DISCRETE)
        entry.discrete = v4l2.Fract(numerator, denominator)
        entries.append(entry)
    return entries


def test_frame_rate_follows_upstreams_rule() -> None:
    offered = frame_rates(intervals((1, 30), (1, 15), (1, 10), (1001, 30000), (0, 5)))
    assert offered == [30, 15, 10]  # non-whole rates and a zero numerator are left out
    assert frame_rate(offered, 15) == 15
    assert frame_rate(offered, 7) == 10
    assert frame_rate([30, 5], None) == 30
    assert frame_rate(frame_rates([]), 25) == 25
    assert frame_rate(None, None) == 10


def test_frame_problem() -> None:
    assert frame_problem(b"\xff\xd8\xff\xd9", 10) is None
    assert frame_problem(b"", 10) == "empty frame"
    assert frame_problem(b"\xff\xd8" + bytes(20), 10) == "frame over 10 bytes"
    assert frame_problem(b"YUYV", 10) == "frame does not start with a JPEG start-of-image marker"


def test_devnode_prefers_the_hash_suffixed_copy_as_upstream_does() -> None:
    env = {"UDEV_DEVNODE": "/dev/video0", "UDEV_DEVNODE_C0FFEE": "/dev/video0"}
    assert video_devnode(env) == ("/dev/video0", [])
    grouped = {"UDEV_DEVNODE_0": "/dev/video2", "UDEV_DEVNODE_1": "/dev/video3"}
    assert video_devnode(grouped) == ("/dev/video2", ["/dev/video3"])
    mixed = {"UDEV_DEVNODE_1": "/dev/video1", "UDEV_DEVNODE_ABC123": "/dev/video5"}
    assert video_devnode(mixed) == ("/dev/video5", ["/dev/video1"])
    with pytest.raises(SettingsError, match="UDEV_DEVNODE"):
        video_devnode({})
    with pytest.raises(SettingsError, match="UDEV_DEVNODE_0: expected an absolute"):
        video_devnode({"UDEV_DEVNODE_0": "video0"})
    with pytest.raises(SettingsError, match="UDEV_DEVNODE"):
        video_devnode({"UDEV_DEVNODE": "/dev/" + "v" * 2000})


def test_settings_defaults_and_refusals() -> None:
    settings = VideoSettings.from_environment({"UDEV_DEVNODE_A1B2C3": DEV})
    assert (settings.devnode, settings.port, settings.address) == (DEV, 8083, "0.0.0.0")
    assert (settings.resolution, settings.fps, settings.io) == (None, None, None)
    full = VideoSettings.from_environment(
        {
            "UDEV_DEVNODE": DEV,
            "RESOLUTION_WIDTH": "1280",
            "RESOLUTION_HEIGHT": "720",
            "FRAMES_PER_SECOND": "20",
            "VIDEO_IO": "read",
            "FORMAT": "JPEG",
        }
    )
    assert (full.resolution, full.fps, full.io, full.pixel_format) == (
        (1280, 720),
        20,
        IoMethod.READ,
        "JPEG",
    )
    for bad, name in (
        ({"FORMAT": "YUYV"}, "FORMAT"),
        ({"RESOLUTION_WIDTH": "640"}, "RESOLUTION_HEIGHT"),  # one without the other
        ({"FRAMES_PER_SECOND": "0"}, "FRAMES_PER_SECOND"),
        ({"MAX_FRAME_BYTES": "10"}, "MAX_FRAME_BYTES"),
        ({"VIDEO_IO": "userptr"}, "VIDEO_IO"),
    ):
        with pytest.raises(SettingsError) as caught:
            VideoSettings.from_environment({"UDEV_DEVNODE": DEV, **bad})
        assert caught.value.name == name


async def test_the_store_serves_the_newest_frame_or_says_why_there_is_none() -> None:
    store = FrameStore(DEV)
    store.attach(asyncio.get_running_loop())
    assert await store.wait_latest(0.01) is None
    assert store.problem() == f"{DEV}: no frame captured yet"
    waiting = asyncio.create_task(store.wait_latest(5.0))
    await asyncio.sleep(0)  # wait-ok: let the waiter start waiting
    first = Frame(b"\xff\xd81", 1, 0.0)
    store.publish(first)  # from the loop's own thread here; the capture thread in the broker
    assert await waiting == first
    store.publish(Frame(b"\xff\xd82", 2, 0.0))
    assert (await store.wait_latest(0.01) or first).sequence == 2
    store.fail(f"{DEV}: ENODEV: No such device")
    assert store.latest() is None
    assert await store.wait_latest(0.05) is None
    assert store.problem() == f"{DEV}: ENODEV: No such device"
