"""Benchmark of the video demo on the 2-node container testbed; prints figures, asserts only that
the path works.

- a camera started → its tile shows frames in the page (headless Chromium, through the app's
  Service): median and p95 over a few cameras started one after the other;
- frames per second delivered to a page's stream per camera (MJPEG parts read for a few seconds),
  next to the frames per second the app fetches;
- the memory of the broker pods and of the app (their containers' cgroup working set on the
  nodes), against their limits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from akri_testbed.cluster import Cluster

from akri_streaming import mjpeg
from akri_streaming.manifest import NAME
from demo.cameras import CameraHosts
from tests.bench.figures import latency_line
from tests.support import video_demo
from tests.support.browser import Page, browser, tiles
from tests.support.cgroups import working_set_mib
from tests.support.images import ImageRefs
from tests.support.kubectl import Kubectl
from tests.support.processes import wait_for

CAMERAS = video_demo.cameras("bench", 150, 4)
STREAM_SECONDS = 5.0

pytestmark = [pytest.mark.bench, pytest.mark.containers, pytest.mark.timeout(1200)]


@pytest.fixture
def demo(
    container_testbed: Cluster, images: ImageRefs, tmp_path: Path
) -> Iterator[tuple[Kubectl, CameraHosts, int]]:
    kubectl = Kubectl.of(container_testbed)
    hosts = CameraHosts(container_testbed, tmp_path / "cameras.log")
    forward = None
    video_demo.install(container_testbed)
    try:
        video_demo.deploy_app(kubectl, images["video-streaming-app"])
        forward, port = video_demo.forward_app(container_testbed, kubectl, tmp_path / "fwd.log")
        yield kubectl, hosts, port
    finally:
        hosts.stop_all()
        if forward is not None:
            video_demo.stop_process(forward)
        video_demo.uninstall(container_testbed, kubectl)


async def _live_keys(page: Page) -> set[str]:
    return {t["key"] for t in await tiles(page) if t["loaded"] and t["status"] == "live"}


async def _parts_per_second(port: int, key: str) -> float:
    """MJPEG parts a reader gets from a tile's stream over ``STREAM_SECONDS``."""
    body = b""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=STREAM_SECONDS + 10)) as session,
        session.get(f"http://127.0.0.1:{port}/camera_frame_feed/{key}") as response,
    ):
        started = time.monotonic()
        while time.monotonic() - started < STREAM_SECONDS:
            try:
                async with asyncio.timeout(STREAM_SECONDS - (time.monotonic() - started)):
                    body += await response.content.readany()
            except TimeoutError:
                break
    return len(mjpeg.parts(body)) / STREAM_SECONDS


async def _camera_list(port: int) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(f"http://127.0.0.1:{port}/camera_list") as response,
    ):
        cameras: list[dict[str, Any]] = (await response.json())["cameras"]
        return cameras


def _memory_lines(cluster: Cluster, kubectl: Kubectl) -> list[str]:
    lines = []
    for pod in kubectl.items("pods", video_demo.NAMESPACE):
        labels = pod["metadata"].get("labels", {})
        if not (labels.get("akri.sh/instance") or labels.get("app.kubernetes.io/name") == NAME):
            continue
        limits = {
            c["name"]: c.get("resources", {}).get("limits", {}).get("memory", "none")
            for c in pod["spec"]["containers"]
        }
        for status in pod["status"].get("containerStatuses", []):
            cid = status.get("containerID", "").removeprefix("containerd://")
            if cid:
                mib = working_set_mib(cluster, pod, cid)
                name = pod["metadata"]["name"]
                lines.append(f"  {name:<64} {mib:6.1f} MiB (limit {limits[status['name']]})")
    return sorted(lines)


async def test_video_demo_figures(
    container_testbed: Cluster, demo: tuple[Kubectl, CameraHosts, int], tmp_path: Path
) -> None:
    kubectl, hosts, port = demo

    async def serving() -> bool:
        try:
            await _camera_list(port)
        except (TimeoutError, aiohttp.ClientError, OSError):
            return False
        return True

    await wait_for(serving, timeout=30, what="the app through its Service", interval=0.2)
    any_key = f"{video_demo.NAMESPACE}.{video_demo.CONFIGURATION}-svc"
    to_tile: list[float] = []
    to_live: list[float] = []
    async with browser(tmp_path / "chromium.log") as chromium:
        page = await chromium.page()
        await page.open(f"http://127.0.0.1:{port}/")
        seen: set[str] = set()
        for camera in CAMERAS:
            started = time.monotonic()
            hosts.start(camera)

            async def new_tile(seen: set[str] = seen) -> bool:
                return bool({t["key"] for t in await tiles(page)} - seen - {any_key})

            async def new_tile_live(seen: set[str] = seen) -> bool:
                return bool(await _live_keys(page) - seen - {any_key})

            await wait_for(new_tile, timeout=240, what=f"{camera.name}'s tile", interval=0.05)
            to_tile.append(time.monotonic() - started)
            await wait_for(new_tile_live, timeout=240, what=f"{camera.name} live", interval=0.05)
            to_live.append(time.monotonic() - started)
            seen = await _live_keys(page)
    print()
    print(latency_line("camera started -> its tile in the page (Instance and Service)", to_tile))
    print(latency_line("camera started -> its tile shows frames (broker serving)", to_live))
    keys = [c["key"] for c in await _camera_list(port)]
    before = {c["key"]: c["frames"] for c in await _camera_list(port)}
    fetched_at = time.monotonic()
    rates = await asyncio.gather(*(_parts_per_second(port, key) for key in keys))
    after = {c["key"]: c["frames"] for c in await _camera_list(port)}
    elapsed = time.monotonic() - fetched_at
    print(f"frames per second, {len(keys)} streams read at once for {STREAM_SECONDS:g} s:")
    for key, rate in zip(keys, rates, strict=True):
        fetched = (after.get(key, 0) - before[key]) / elapsed
        print(f"  {key:<44} delivered {rate:5.1f}/s  (the app fetched {fetched:5.1f}/s)")
    print("memory working set per container (cgroup):")
    for line in _memory_lines(container_testbed, kubectl):
        print(line)
    assert all(rate > 1 for rate in rates), rates
