"""The video demo end to end on the 2-node container testbed: ``helm install`` with
``examples/helm/onvif-video.yaml``, three simulated ONVIF cameras on the node network, our video
broker pods, and the streaming app deployed from ``akri_streaming.manifest``; headless Chromium
opens the app's page through its Service (forwarded to loopback, see ``tests/support/video_demo``).

Three camera tiles (and the "any camera" tile) show moving footage; each camera's tile shows that
camera (the name it announces under the tile, the same name in the frames' COM segment); a camera
that stops loses its tile within 5 s, and gets it back when it starts again. Screenshots are kept
in the directory the test prints; with ``AKRI_VIDEO_DEMO_IMAGE=1`` one is also written to
``docs/images/video-demo.png`` for the README.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from akri_testbed.cluster import Cluster

from akri_streaming import mjpeg
from demo.cameras import CameraHosts, SimulatedCamera
from tests.integration.onvif_support.footage import fields
from tests.support import video_demo
from tests.support.browser import Page, browser, tiles
from tests.support.images import ImageRefs
from tests.support.kubectl import Kubectl, wait_until
from tests.support.pixels import changed_fraction, distinct_colours
from tests.support.processes import wait_for

CAMERAS = video_demo.cameras("e2e", 140, 3)
REPO = Path(__file__).resolve().parents[2]
GONE_WITHIN = 5.0

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def kubectl(container_testbed: Cluster) -> Kubectl:
    return Kubectl.of(container_testbed)


@pytest.fixture(scope="module")
def hosts(container_testbed: Cluster) -> Iterator[CameraHosts]:
    log = container_testbed.directory / "logs" / "streaming-cameras.log"
    started = CameraHosts(container_testbed, log)
    try:
        for camera in CAMERAS:
            started.start(camera)
        yield started
    finally:
        started.stop_all()


@pytest.fixture(scope="module")
def app_port(
    container_testbed: Cluster, kubectl: Kubectl, images: ImageRefs, hosts: CameraHosts
) -> Iterator[int]:
    """The chart and the app installed; the app's page on 127.0.0.1:<port>."""
    video_demo.install(container_testbed)
    forward = None
    try:
        video_demo.deploy_app(kubectl, images["video-streaming-app"])
        log = container_testbed.directory / "logs" / "streaming-forward.log"
        forward, port = video_demo.forward_app(container_testbed, kubectl, log)
        yield port
    finally:
        if forward is not None:
            video_demo.stop_process(forward)
        video_demo.uninstall(container_testbed, kubectl)


async def camera_list(port: int) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(f"http://127.0.0.1:{port}/camera_list") as response,
    ):
        response.raise_for_status()
        cameras: list[dict[str, Any]] = (await response.json())["cameras"]
        return cameras


async def one_frame(port: int, key: str) -> bytes:
    """The first whole frame of a tile's MJPEG stream."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(f"http://127.0.0.1:{port}/camera_frame_feed/{key}") as response,
    ):
        assert response.headers["Content-Type"] == mjpeg.CONTENT_TYPE
        body = b""
        while not (frames := mjpeg.parts(body)):
            chunk = await response.content.readany()
            assert chunk, "the stream ended"
            body += chunk
        return frames[0]


async def live_tiles(page: Page, keys: set[str], *, timeout: float) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def shown() -> bool:
        nonlocal found
        found = await tiles(page)
        live = {t["key"] for t in found if t["loaded"] and t["status"] == "live"}
        return keys <= live

    try:
        await wait_for(shown, timeout=timeout, what=f"tiles {sorted(keys)} live", interval=0.1)
    except AssertionError as err:
        raise AssertionError(f"{err}; the page shows {found}") from None
    return found


def instances_of(kubectl: Kubectl, cameras: list[SimulatedCamera]) -> dict[str, SimulatedCamera]:
    """Tile key → camera, once every camera has its Instance."""
    by_uuid = {c.uuid: c for c in cameras}

    def found() -> dict[str, SimulatedCamera] | None:
        instances = video_demo.camera_instances(kubectl, set(by_uuid))
        if len(instances) != len(cameras):
            return None
        return {
            video_demo.tile_key(name): by_uuid[i["spec"]["brokerProperties"]["ONVIF_DEVICE_UUID"]]
            for name, i in instances.items()
        }

    result: dict[str, SimulatedCamera] = wait_until(
        found, what="an Instance per camera", timeout=180
    )
    return result


def _save_logs(kubectl: Kubectl, directory: Path) -> None:
    """The app's and the brokers' logs, and the Services, for a failure's post-mortem."""
    for pod in kubectl.items("pods", video_demo.NAMESPACE):
        name = pod["metadata"]["name"]
        result = kubectl.run("logs", "-n", video_demo.NAMESPACE, name, "--tail=300", check=False)
        (directory / f"{name}.log").write_text(result.stdout + result.stderr)
    services = kubectl.run(
        "get",
        "services,instances.akri.sh,pods",
        "-n",
        video_demo.NAMESPACE,
        "-o",
        "wide",
        check=False,
    )
    (directory / "objects.txt").write_text(services.stdout + services.stderr)


async def test_three_cameras_in_the_browser_and_a_camera_that_leaves_and_comes_back(
    container_testbed: Cluster, kubectl: Kubectl, hosts: CameraHosts, app_port: int, tmp_path: Path
) -> None:
    try:
        await _three_cameras(container_testbed, kubectl, hosts, app_port, tmp_path)
    except BaseException:
        _save_logs(kubectl, tmp_path)
        print(f"\nlogs of the app and the brokers: {tmp_path}")
        raise


async def _three_cameras(
    container_testbed: Cluster, kubectl: Kubectl, hosts: CameraHosts, app_port: int, tmp_path: Path
) -> None:
    by_key = instances_of(kubectl, CAMERAS)
    any_key = f"{video_demo.NAMESPACE}.{video_demo.CONFIGURATION}-svc"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nscreenshots: {shots}")
    async with browser(tmp_path / "chromium.log") as chromium:
        page = await chromium.page()
        await wait_for(
            lambda: _serving(app_port), timeout=30, what="the app through its Service", interval=0.2
        )
        await page.open(f"http://127.0.0.1:{app_port}/")
        shown = await live_tiles(page, {*by_key, any_key}, timeout=150)
        first = await page.screenshot()
        (shots / "1-three-cameras.png").write_bytes(first)
        before = {c["key"]: c["frames"] for c in await camera_list(app_port)}

        async def a_second_later() -> bool:
            now = {c["key"]: c["frames"] for c in await camera_list(app_port)}
            return all(now.get(k, 0) >= before[k] + 5 for k in by_key)

        await wait_for(a_second_later, timeout=15, what="more frames per camera", interval=0.1)
        second = await page.screenshot()
        (shots / "2-a-second-later.png").write_bytes(second)
        if os.environ.get("AKRI_VIDEO_DEMO_IMAGE"):  # the README's picture of the demo
            (REPO / "docs" / "images").mkdir(parents=True, exist_ok=True)
            (REPO / "docs" / "images" / "video-demo.png").write_bytes(second)
        boxes = {t["key"]: t for t in shown}
        for key, camera in by_key.items():
            box = boxes[key]
            assert distinct_colours(first, box) > 20, f"{camera.name}: a blank tile"
            moved = changed_fraction(first, second, box)
            assert moved > 0.01, f"{camera.name}: the footage did not move ({moved:.3%})"
            # The camera's own name under its tile (announced in its WS-Discovery scope, an
            # Instance property with describeMedia), and drawn in its frames.
            assert box["camera"] == camera.name, box
            assert fields(await one_frame(app_port, key)).get("name") == camera.name
            assert box["nodes"], box
        assert fields(await one_frame(app_port, any_key)).get("name") in {c.name for c in CAMERAS}

        # A camera leaves: its tile goes; the others stay.
        leaving = CAMERAS[1]
        leaving_key = next(k for k, c in by_key.items() if c is leaving)
        stopped = time.monotonic()
        hosts.stop(leaving)

        async def gone() -> bool:
            return leaving_key not in {t["key"] for t in await tiles(page)}

        await wait_for(gone, timeout=60, what=f"{leaving.name}'s tile gone", interval=0.05)
        gone_s = time.monotonic() - stopped
        (shots / "3-one-camera-gone.png").write_bytes(await page.screenshot())
        await live_tiles(page, set(by_key) - {leaving_key} | {any_key}, timeout=10)

        # It comes back.
        back = time.monotonic()
        hosts.start(leaving)
        await live_tiles(page, set(by_key) | {any_key}, timeout=240)
        back_s = time.monotonic() - back
        (shots / "4-back.png").write_bytes(await page.screenshot())
    print(
        f"camera stopped -> its tile gone: {gone_s:.1f} s; "
        f"camera started again -> its tile live: {back_s:.1f} s"
    )
    assert gone_s < GONE_WITHIN, f"the tile went only after {gone_s:.1f} s"


async def _serving(port: int) -> bool:
    try:
        await camera_list(port)
    except (TimeoutError, aiohttp.ClientError, OSError):
        return False
    return True
