"""ONVIF handler benchmarks, in network namespaces the benchmark creates; they print figures.

- Hello -> DiscoverResponse latency (and Bye -> DiscoverResponse), one camera saying Bye and
  Hello again on a signal, probes every 60 s so only the announcements count;
- time from opening Discover to the first list holding 50 described cameras (it includes the
  ``discoveryTimeoutSeconds`` probe window), and that time minus the window;
- resident memory of the handler process: idle before any Discover, and idle again after one.
Run with ``make bench``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from akri_handler_sdk.testing import open_discover, wait_until
from tests.bench.figures import latency_line, rss_mib
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
    await wait_until((directory / "onvif.sock").exists, within=20.0, what="the handler serving")
    return handler


def handler_pid(handler: LabProcess) -> int:
    """``ip netns exec`` execs the command in place, so the child is the handler itself."""
    cmdline = Path(f"/proc/{handler.proc.pid}/cmdline").read_bytes()
    assert b"akri_onvif" in cmdline, cmdline
    return handler.proc.pid


async def test_hello_and_bye_to_discover_response_latency(lab: OnvifLab, handler_dir: Path) -> None:
    camera = await lab.start_camera(
        uuid="7e000000-0000-4000-8000-000000000001", mac="02:00:00:00:7e:01"
    )
    await start_handler(lab, handler_dir, ONVIF_PROBE_INTERVAL_SECONDS="60", LOG_LEVEL="warning")
    hello: list[float] = []
    bye: list[float] = []
    async with open_discover(str(handler_dir / "onvif.sock"), "") as stream:
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
    print(latency_line("onvif Hello -> DiscoverResponse (described)", hello))
    print(latency_line("onvif Bye -> DiscoverResponse", bye))


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
