"""udev video broker benchmark against the emulated camera (umockdev); it prints figures.

- resident memory of the broker process while it streams 640x480 MJPEG at 20 fps (50 kB frames,
  memory-mapped streaming), and its CPU use over a window;
- GetFrame latency over loopback gRPC.

The emulated camera answers every ioctl over umockdev's socket from this process, so the CPU figure
includes the preload's round trips, which a real driver does not cost. Run with ``make bench``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from akri_proto.camera import camera_pb2 as pb
from tests.bench.figures import latency_line, peak_rss_mib, rss_mib
from tests.support.processes import ProcessGroup, wait_for
from tests.support.udev_video_broker import a_frame, get_frame, start_broker
from tests.support.v4l2_camera import CameraModel, VideoBed, video_bed

pytestmark = [pytest.mark.bench, pytest.mark.umockdev, pytest.mark.timeout(300)]

RUNTIME_PYTHON = os.environ.get("AKRI_RUNTIME_PYTHON", sys.executable)
FRAME_BYTES = 50_000
CALLS = 50
CPU_WINDOW = 5.0
RSS_LIMIT_MIB = 60


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def bed() -> Iterator[VideoBed]:
    with video_bed("make bench") as made:
        yield made


@pytest.fixture
async def group(bed: VideoBed, tmp_path: Path) -> AsyncIterator[ProcessGroup]:
    processes = ProcessGroup(tmp_path)
    yield processes
    await processes.stop_all()


async def test_broker_memory_cpu_and_getframe_latency(bed: VideoBed, group: ProcessGroup) -> None:
    camera = bed.camera(CameraModel(frame_bytes=FRAME_BYTES))
    broker = await start_broker(group, bed, python=RUNTIME_PYTHON, FRAMES_PER_SECOND="20")
    await a_frame(broker)
    pid = broker.child.pid
    before, dequeued, started = cpu_seconds(pid), camera.state.dequeues, time.monotonic()
    await wait_for(
        lambda: time.monotonic() - started >= CPU_WINDOW, timeout=CPU_WINDOW + 1, what="the window"
    )
    cpu = (cpu_seconds(pid) - before) / (time.monotonic() - started)
    rate = (camera.state.dequeues - dequeued) / (time.monotonic() - started)
    seconds = []
    for _ in range(CALLS):
        start = time.monotonic()
        answer = await get_frame(broker.port)
        seconds.append(time.monotonic() - start)
        assert isinstance(answer, pb.NotifyResponse)
        assert len(answer.frame) == FRAME_BYTES
    rss, peak = rss_mib(pid), peak_rss_mib(pid)
    print(
        f"\nudev video broker, 640x480 MJPEG {FRAME_BYTES // 1000} kB frames, mmap streaming:"
        f" RSS {rss:.1f} MiB (peak {peak:.1f} MiB), CPU {cpu * 100:.1f}% at {rate:.1f} frames/s"
    )
    print(latency_line("GetFrame over loopback gRPC", seconds))
    assert rss < RSS_LIMIT_MIB
    assert rate > 10
    assert await group.stop(broker.child) == 0
