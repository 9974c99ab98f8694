"""The video story (``make demo ARGS=--video``): Akri's end-to-end demo with footage.

``helm install`` with ONVIF discovery and the ONVIF video broker → three simulated cameras on the
node network (each in a network namespace of its own, drawing its name and a clock on every frame)
→ three Instances → a broker per camera and node, serving the newest frame over ``camera.Camera``
→ the streaming app, deployed from ``akri_streaming.manifest``, shows every camera side by side
at a URL on this machine's loopback → a camera goes away (its tile goes) and comes back (it
returns). Live, it then waits: type ``add`` to start one more camera, ``remove`` to stop the
newest, Ctrl-C to end. With ``--once`` each step is checked against the page's own camera list
and the demo exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import yaml
from akri_testbed.cluster import container_node, free_ports
from akri_testbed.netns import NETNS_DIR

from akri_streaming.manifest import NAME as APP
from akri_streaming.manifest import manifests
from demo.cameras import SimulatedCamera
from demo.cluster import CHART, NAMESPACE, RELEASE, REPO, VALUES, Demo

VIDEO_VALUES = VALUES / "onvif-video.yaml"
CONFIGURATION = "akri-onvif-video"
APP_IMAGE = "akri-py/video-streaming-app:0.1.0"
FIRST_CAMERA_IP = 120  # 10.200.0.120 and up, on the node network
MAX_CAMERAS = 20
STEP_TIMEOUT = 240.0
TILE_TIMEOUT = 60.0
POLL_SECONDS = 0.5
T = TypeVar("T")


def camera(index: int) -> SimulatedCamera:
    """The demo's camera ``index`` (0-based): ``camera-<index + 1>`` at 10.200.0.120 and up."""
    return SimulatedCamera(
        suffix=f"vcam{index}",
        ip=f"10.200.0.{FIRST_CAMERA_IP + index}",
        uuid=f"d3e0a5c1-7b2f-4c8e-9a6d-00000000{index + 1:04d}",
        name=f"camera-{index + 1}",
        mac=f"02:00:00:00:0e:{index + 1:02x}",
    )


def live_cameras(listing: dict[str, Any], cameras: list[SimulatedCamera]) -> set[str]:
    """The names of ``cameras`` that have a live tile in ``/camera_list``; pure. A tile names its
    camera by the name the camera announced, else by the address it streams from or the
    Instance's IP property."""
    shown = set()
    for tile in listing.get("cameras", []):
        if tile.get("any_camera") or tile.get("status") != "live":
            continue
        title = str(tile.get("camera", ""))
        text = f"{tile.get('label', '')} {title}"
        shown |= {c.name for c in cameras if title == c.name or _names(text, c.ip)}
    return shown


def summary(listing: dict[str, Any]) -> str:
    """The camera list in one bounded line (for an error message); pure."""
    tiles = [
        f"{str(t.get('label', ''))[:40]} [{str(t.get('camera', ''))[:60]}]: "
        f"{str(t.get('status', ''))[:80]}"
        for t in listing.get("cameras", [])[:MAX_CAMERAS]
    ]
    return "; ".join(tiles) or "no tiles"


def _names(text: str, ip: str) -> bool:
    """``ip`` appears in ``text`` as a whole address (10.200.0.12 is not in 10.200.0.120)."""
    start = text.find(ip)
    while start >= 0:
        end = start + len(ip)
        if (start == 0 or not text[start - 1].isdigit()) and (
            end == len(text) or not text[end].isdigit()
        ):
            return True
        start = text.find(ip, start + 1)
    return False


class VideoStory:
    def __init__(self, demo: Demo, *, live: bool) -> None:
        self.demo = demo
        self.live = live
        self.cameras = demo.cameras
        self.forwarder: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.seen = "nothing yet"  # the page's last camera list, shown when a step times out

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    async def run(self) -> None:
        try:
            await self._story()
        finally:
            self.cameras.stop_all()
            if self.forwarder is not None:
                self.forwarder.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.forwarder.wait(timeout=10)

    async def _story(self) -> None:
        demo = self.demo
        self.say(f"helm install {RELEASE} helm/akri -f {VIDEO_VALUES.relative_to(REPO)}")
        await demo.helm(
            *("install", RELEASE, str(CHART), "-n", NAMESPACE, "--create-namespace"),
            *("--wait", "--timeout", "300s", "-f", str(VIDEO_VALUES)),
        )
        first = [camera(i) for i in range(3)]
        for one in first:
            self.cameras.start(one)
        self.say(f"three cameras on the node network: {', '.join(c.ip for c in first)}")
        brokers = await self._until(
            lambda: self._brokers_running({c.uuid for c in first}),
            "an Instance and a Running broker for each camera",
        )
        self.say(f"Instances and brokers: {brokers}")
        await self._deploy_app()
        self.url = await self._forward_app()
        self.say(f"the streaming app: open {self.url} in a browser")
        await self._until(
            lambda: self._tiles_are({c.name for c in first}), "three live tiles on the page"
        )
        self.say("the page shows three live cameras")
        gone = first[1]
        self.cameras.stop(gone)
        self.say(f"{gone.name} switched off")
        await self._until(
            lambda: self._tiles_are({c.name for c in first} - {gone.name}),
            f"{gone.name}'s tile gone",
            timeout=TILE_TIMEOUT,
        )
        await self._until(
            lambda: self._no_instance(gone.uuid), f"{gone.name}'s Instance and brokers gone"
        )
        self.say(f"{gone.name}'s Instance, broker and tile are gone")
        self.cameras.start(gone)
        await self._until(
            lambda: self._tiles_are({c.name for c in first}),
            f"{gone.name}'s tile back",
            timeout=TILE_TIMEOUT,
        )
        self.say(f"{gone.name} is back on the page")
        if self.live:
            await self._interact()

    async def _interact(self) -> None:
        self.say(f"{self.url} -- type 'add' or 'remove' and Enter; Ctrl-C ends the demo")
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if line == "" and sys.stdin.closed:
                return
            running = [i for i in range(MAX_CAMERAS) if camera(i).uuid in self.cameras.running]
            if line == "add":
                free = [i for i in range(MAX_CAMERAS) if i not in running]
                if not free:
                    self.say(f"at most {MAX_CAMERAS} cameras")
                    continue
                self.cameras.start(camera(free[0]))
                self.say(f"{camera(free[0]).name} switched on at {camera(free[0]).ip}")
            elif line == "remove" and running:
                self.cameras.stop(camera(running[-1]))
                self.say(f"{camera(running[-1]).name} switched off")

    async def _until(
        self,
        check: Callable[[], Awaitable[T | None]],
        what: str,
        *,
        timeout: float = STEP_TIMEOUT,
    ) -> T:
        deadline = time.monotonic() + timeout
        while True:
            found = await check()
            if found:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{what}: not seen within {timeout:g} s (the page: {self.seen})")
            await asyncio.sleep(POLL_SECONDS)  # wait-ok: the poll interval of a deadline wait

    async def _items(self, kind: str, *args: str) -> list[dict[str, Any]]:
        text = await self.demo.kubectl("get", kind, "-n", NAMESPACE, *args, "-o", "json")
        items: list[dict[str, Any]] = json.loads(text).get("items", [])
        return items

    async def _brokers_running(self, uuids: set[str]) -> str | None:
        instances = {
            i["metadata"]["name"]: i
            for i in await self._items("instances.akri.sh")
            if i["spec"].get("brokerProperties", {}).get("ONVIF_DEVICE_UUID") in uuids
        }
        if len(instances) != len(uuids):
            return None
        pods = await self._items("pods", "-l", "controller=akri.sh")
        running = {
            p["metadata"]["labels"].get("akri.sh/instance")
            for p in pods
            if p["status"].get("phase") == "Running"
        }
        if not set(instances) <= running:
            return None
        return ", ".join(
            f"{name} on {'+'.join(sorted(i['spec']['nodes']))}"
            for name, i in sorted(instances.items())
        )

    async def _no_instance(self, uuid: str) -> bool:
        """No Instance of the camera ``uuid`` and no broker of such an Instance is left."""
        instances = await self._items("instances.akri.sh")
        if any(
            i["spec"].get("brokerProperties", {}).get("ONVIF_DEVICE_UUID") == uuid
            for i in instances
        ):
            return False
        known = {i["metadata"]["name"] for i in instances}
        brokers = await self._items("pods", "-l", "controller=akri.sh")
        return all(p["metadata"]["labels"].get("akri.sh/instance") in known for p in brokers)

    async def _deploy_app(self) -> None:
        path = self.demo.directory / "video-streaming-app.yaml"
        objects = manifests(namespace=NAMESPACE, configuration=CONFIGURATION, image=APP_IMAGE)
        path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
        await self.demo.kubectl("apply", "-f", str(path))
        await self.demo.kubectl(
            *("rollout", "status", f"deployment/{APP}", "-n", NAMESPACE, "--timeout=180s"),
            timeout=200,
        )
        self.say("the streaming app is Running (it follows the camera Services by watch)")

    async def _forward_app(self) -> str:
        """127.0.0.1:<port> here → the app's Service, from inside the first node's network."""
        text = await self.demo.kubectl("get", "service", APP, "-n", NAMESPACE, "-o", "json")
        (port,) = free_ports(1)
        self.forwarder = self._forwarder(port, json.loads(text)["spec"]["clusterIP"])
        return f"http://127.0.0.1:{port}/"

    def _forwarder(self, port: int, cluster_ip: str) -> subprocess.Popen[bytes]:
        node = container_node(self.demo.testbed, self.demo.testbed.nodes[0].name)
        log = self.demo.directory / "logs" / "forward.log"
        with log.open("ab") as out:
            return subprocess.Popen(
                [
                    sys.executable, "-m", "akri_testbed.forward",
                    "--netns", str(NETNS_DIR / node.netns),
                    f"127.0.0.1:{port}={cluster_ip}:80",
                ],
                env={**os.environ, "PYTHONPATH": str(REPO / "testbed")},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    async def _tiles_are(self, names: set[str]) -> bool:
        """The page's live tiles are the cameras ``names`` and no other of ours."""
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.get(self.url + "camera_list") as response,
            ):
                listing = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            self.seen = f"{type(err).__name__}: {str(err)[:200]}"
            return False
        self.seen = summary(listing)
        ours = [camera(i) for i in range(MAX_CAMERAS)]
        return live_cameras(listing, ours) == names
