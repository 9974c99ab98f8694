"""The udev video broker as a real process against an emulated V4L2 camera, with a real gRPC client.

The broker runs under the umockdev preload (this test runs under ``umockdev-wrapper``; the child
inherits ``LD_PRELOAD`` and is pointed at the testbed with ``UMOCKDEV_DIR``): its open, ioctl, read
and mmap of ``/dev/video0`` reach ``tests.support.v4l2_camera`` in this process. What is emulated
(and what is not) is listed there and in services/brokers/README.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest

from tests.support.processes import ProcessGroup, wait_for
from tests.support.udev_video_broker import DEVNODE, a_frame, an_error, get_frame, start_broker
from tests.support.v4l2_camera import (
    CAP_META_CAPTURE,
    CAP_READWRITE,
    CAP_STREAMING,
    CAP_VIDEO_CAPTURE,
    MJPG,
    REQBUFS,
    YUYV,
    CameraModel,
    VideoBed,
    video_bed,
)

pytestmark = [pytest.mark.umockdev, pytest.mark.usefixtures("no_leftover_tasks")]


@pytest.fixture
def bed() -> Iterator[VideoBed]:
    with video_bed() as made:
        yield made


@pytest.fixture
async def group(bed: VideoBed, tmp_path: Path) -> AsyncIterator[ProcessGroup]:
    """Broker processes, stopped before the testbed (their device) is dropped."""
    processes = ProcessGroup(tmp_path)
    yield processes
    await processes.stop_all()


async def test_streams_mjpeg_frames_at_the_requested_size_and_rate(
    bed: VideoBed, group: ProcessGroup
) -> None:
    camera = bed.camera(CameraModel())
    broker = await start_broker(
        group, bed, RESOLUTION_WIDTH="1280", RESOLUTION_HEIGHT="720", FRAMES_PER_SECOND="20"
    )
    first = await a_frame(broker)
    assert first.camera == DEVNODE
    assert first.frame in camera.state.produced
    assert first.frame.startswith(b"\xff\xd8")
    # Newer frames replace it: the broker keeps only the newest.
    await wait_for(
        lambda: camera.state.dequeues >= 5, timeout=10, what="more frames", interval=0.05
    )
    later = await a_frame(broker)
    assert later.frame != first.frame
    assert later.frame in camera.state.produced
    assert camera.state.format == (1280, 720, MJPG)
    assert camera.state.fps == 20
    assert camera.state.reads == 0  # memory-mapped streaming, not read()
    assert await group.stop(broker.child) == 0, broker.child.log()
    log = broker.child.log()
    assert '"io": "streaming"' in log
    assert "Traceback" not in log
    assert not camera.state.streaming  # STREAMOFF on the way out


async def test_read_io_follows_the_device_away_and_back(bed: VideoBed, group: ProcessGroup) -> None:
    model = CameraModel(caps=CAP_VIDEO_CAPTURE | CAP_READWRITE, sizes=((320, 240), (640, 480)))
    camera = bed.camera(model)
    broker = await start_broker(group, bed, MAX_FRAME_BYTES="65536")
    first = await a_frame(broker)
    assert first.frame in camera.state.produced
    assert camera.state.format == (640, 480, MJPG)  # upstream's defaults: 640x480 at 10 fps
    assert camera.state.fps == 10
    assert camera.state.reads > 0
    assert camera.state.read_count == 65536 + 1  # bounded: MAX_FRAME_BYTES and one more
    assert camera.state.dequeues == 0

    camera.unplug()
    details = await an_error(broker, containing=DEVNODE)
    assert "ENODEV" in details or "ENOENT" in details, details
    camera.detach()

    back = bed.camera(model)
    frame = await a_frame(broker, within=20.0)
    assert frame.frame in back.state.produced
    assert await group.stop(broker.child) == 0, broker.child.log()
    log = broker.child.log()
    assert '"device_failed"' in log
    assert log.count('"frames_flowing"') == 2  # at the start and after the device came back
    assert "Traceback" not in log


async def test_a_stalled_camera_is_reopened(bed: VideoBed, group: ProcessGroup) -> None:
    camera = bed.camera(CameraModel())
    broker = await start_broker(group, bed)
    await a_frame(broker)
    requested = camera.state.calls[REQBUFS]
    camera.frozen = True  # streaming, but no frame comes: after 5 s the broker starts again
    details = await an_error(broker, containing="no frame for 5s")
    assert details == f"{DEVNODE}: no frame for 5s"
    camera.frozen = False
    frame = await a_frame(broker)
    assert frame.frame in camera.state.produced
    assert camera.state.calls[REQBUFS] >= requested + 2  # buffers freed, then requested anew
    assert await group.stop(broker.child) == 0
    assert '"capture_failed"' in broker.child.log()


async def test_a_camera_without_mjpeg_is_named_with_what_it_offers(
    bed: VideoBed, group: ProcessGroup
) -> None:
    bed.camera(CameraModel(formats=(YUYV,)))
    broker = await start_broker(group, bed)
    details = await an_error(broker, containing="MJPEG")
    assert details == f"{DEVNODE}: offers no MJPEG (or JPEG) format; it offers: YUYV"
    assert await group.stop(broker.child) == 0
    assert '"device_unsuitable"' in broker.child.log()


async def test_a_metadata_node_is_not_a_capture_device(bed: VideoBed, group: ProcessGroup) -> None:
    bed.camera(CameraModel(caps=CAP_META_CAPTURE | CAP_STREAMING))
    broker = await start_broker(group, bed)
    details = await an_error(broker, containing="VIDEO_CAPTURE")
    assert details.startswith(f"{DEVNODE}: Emulated Camera (driver emulated) is a metadata node")
    assert await group.stop(broker.child) == 0


async def test_frames_over_the_limit_are_dropped_not_served(
    bed: VideoBed, group: ProcessGroup
) -> None:
    camera = bed.camera(CameraModel(caps=CAP_VIDEO_CAPTURE | CAP_READWRITE, frame_bytes=8192))
    broker = await start_broker(group, bed, MAX_FRAME_BYTES="4096")
    await wait_for(lambda: camera.state.reads >= 3, timeout=15, what="reads", interval=0.05)
    answer = await get_frame(broker.port)
    assert isinstance(answer, grpc.aio.AioRpcError)
    assert answer.code() == grpc.StatusCode.UNAVAILABLE
    assert answer.details() == f"{DEVNODE}: no frame captured yet"
    assert await group.stop(broker.child) == 0
    assert '"reason": "frame over 4096 bytes"' in broker.child.log()


async def test_bad_format_setting_exits_2_naming_it(bed: VideoBed, group: ProcessGroup) -> None:
    broker = await start_broker(group, bed, FORMAT="YUYV")
    assert await asyncio.wait_for(broker.child.proc.wait(), 15) == 2
    assert "FORMAT" in broker.child.log()
    assert "Traceback" not in broker.child.log()
