"""ONVIF handler benchmarks, in network namespaces the benchmark creates; they print figures.

- Hello -> DiscoverResponse latency (and Bye -> DiscoverResponse), one camera saying Bye and
  Hello again on a signal, probes every 60 s so only the announcements count: an open camera, a
  camera that wants HTTP Digest on every call, and one that wants a UsernameToken on every call
  (target p95 <= 1 s);
- time from opening Discover to the first list holding 50 described cameras (it includes the
  ``discoveryTimeoutSeconds`` probe window), and that time minus the window;
- resident memory of the handler process: idle before any Discover, and idle again after one;
  also with 50 cameras that want HTTP Digest, described with their media profiles.
Run with ``make bench``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from akri_handler_sdk.testing import open_discover
from tests.bench.figures import latency_line, peak_rss_mib, rss_mib
from tests.integration.onvif_support.fixtures import handler_dir, lab
from tests.integration.onvif_support.lab import LabProcess, OnvifLab

__all__ = ["handler_dir", "lab"]

pytestmark = [pytest.mark.bench, pytest.mark.netns]

RUNTIME_PYTHON = os.environ.get("AKRI_RUNTIME_PYTHON", sys.executable)
SAMPLES = 30
FLEET = 50
WINDOW = 1.0
RSS_TARGET_MIB = 40


async def start_handler(lab: OnvifLab, directory: Path, **env: str) -> LabProcess:
    handler = await lab.start_handler(directory, python=RUNTIME_PYTHON, **env)
    await lab.wait_serving(handler, directory)
    return handler


def handler_pid(handler: LabProcess) -> int:
    """``ip netns exec`` execs the command in place, so the child is the handler itself."""
    cmdline = Path(f"/proc/{handler.proc.pid}/cmdline").read_bytes()
    assert b"akri_onvif" in cmdline, cmdline
    return handler.proc.pid


CAMERAS: dict[str, dict[str, Any]] = {
    "open camera": {},
    "HTTP Digest on every call": {"quirks": ("digest-only", "auth-every-call")},
    "UsernameToken on every call": {"quirks": ("auth-every-call",)},
}
USERNAME = "bench"
PASSWORD = "bench-Secret-1"


@pytest.mark.parametrize("kind", list(CAMERAS))
async def test_hello_and_bye_to_discover_response_latency(
    lab: OnvifLab, handler_dir: Path, kind: str
) -> None:
    spec = CAMERAS[kind]
    locked = bool(spec)
    camera = await lab.start_camera(
        uuid="7e000000-0000-4000-8000-000000000001",
        mac="02:00:00:00:7e:01",
        username=USERNAME if locked else None,
        password=PASSWORD,
        **spec,
    )
    await start_handler(lab, handler_dir, ONVIF_PROBE_INTERVAL_SECONDS="60", LOG_LEVEL="warning")
    hello: list[float] = []
    bye: list[float] = []
    credential = {"username_default": USERNAME.encode(), "password_default": PASSWORD.encode()}
    async with open_discover(str(handler_dir / "onvif.sock"), "", credential) as stream:
        await stream.wait_for(lambda d: len(d) == 1, within=10.0)
        for _ in range(SAMPLES):
            start = time.perf_counter()
            camera.process.proc.send_signal(signal.SIGUSR2)
            await stream.wait_for(lambda d: len(d) == 0, within=5.0)
            bye.append(time.perf_counter() - start)
            start = time.perf_counter()
            camera.process.proc.send_signal(signal.SIGUSR1)
            await stream.wait_for(lambda d: len(d) == 1, within=5.0)
            hello.append(time.perf_counter() - start)
    print()
    print(latency_line(f"onvif Hello -> DiscoverResponse (described), {kind}", hello))
    print(latency_line(f"onvif Bye -> DiscoverResponse, {kind}", bye))


async def test_describe_fifty_cameras_and_idle_memory(lab: OnvifLab, handler_dir: Path) -> None:
    await lab.start_fleet(
        FLEET, uuid_prefix="5e000000-0000-4000-8000-00000000", mac_prefix="02:00:00:5e:"
    )
    handler = await start_handler(lab, handler_dir, LOG_LEVEL="warning")
    pid = handler_pid(handler)
    idle_before = rss_mib(pid)
    start = time.perf_counter()
    async with open_discover(
        str(handler_dir / "onvif.sock"), f"discoveryTimeoutSeconds: {WINDOW}"
    ) as stream:
        devices = await stream.next_list(within=30.0)
        elapsed = time.perf_counter() - start
        assert len(devices) == FLEET
        assert all("ONVIF_DEVICE_MAC_ADDRESS" in d.properties for d in devices)
        serving = rss_mib(pid)
    idle_after = rss_mib(pid)
    print()
    print(
        f"onvif first list of {FLEET} described cameras: {elapsed * 1000:.0f} ms"
        f" (of which probe window {WINDOW * 1000:.0f} ms; describing {(elapsed - WINDOW) * 1000:.0f} ms)"
    )
    print(
        f"onvif handler RSS: idle before Discover {idle_before:.1f} MiB,"
        f" while serving {FLEET} cameras {serving:.1f} MiB, idle after {idle_after:.1f} MiB"
        f" (target <= {RSS_TARGET_MIB} MiB; interpreter {Path(RUNTIME_PYTHON).parent.parent.name})"
    )


async def test_fifty_digest_cameras_described_with_media_memory(
    lab: OnvifLab, handler_dir: Path
) -> None:
    await lab.start_fleet(
        FLEET,
        uuid_prefix="5d000000-0000-4000-8000-00000000",
        mac_prefix="02:00:00:5d:",
        extra=("--username", USERNAME, "--password", PASSWORD, "--quirk", "digest-only"),
    )
    handler = await start_handler(lab, handler_dir, LOG_LEVEL="warning")
    pid = handler_pid(handler)
    idle_before = rss_mib(pid)
    credential = {"username_default": USERNAME.encode(), "password_default": PASSWORD.encode()}
    start = time.perf_counter()
    async with open_discover(
        str(handler_dir / "onvif.sock"),
        f"discoveryTimeoutSeconds: {WINDOW}\ndescribeMedia: true",
        credential,
    ) as stream:
        devices = await stream.wait_for(
            lambda d: (
                len(d) == FLEET and all("ONVIF_PROFILE_1_STREAM_URI" in x.properties for x in d)
            ),
            within=60.0,
        )
        elapsed = time.perf_counter() - start
        serving = rss_mib(pid)
    peak = peak_rss_mib(pid)
    assert all("ONVIF_DEVICE_MAC_ADDRESS" in d.properties for d in devices)
    print()
    print(
        f"onvif {FLEET} Digest cameras described with media: {elapsed * 1000:.0f} ms"
        f" (probe window {WINDOW * 1000:.0f} ms)"
    )
    print(
        f"onvif handler RSS with {FLEET} Digest cameras described with media: idle before"
        f" {idle_before:.1f} MiB, serving {serving:.1f} MiB, peak {peak:.1f} MiB"
        f" (interpreter {Path(RUNTIME_PYTHON).parent.parent.name})"
    )
