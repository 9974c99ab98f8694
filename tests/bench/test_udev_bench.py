"""udev handler figures over umockdev: uevent → DiscoverResponse latency, a 1,000-device
enumeration, and the idle handler's RSS. Printed, not asserted (targets: p95 ≤ 50 ms, ≤ 40 MiB).

Run under ``umockdev-wrapper`` (``make bench`` does); the handler runs as its own process with the
runtime-only interpreter when ``AKRI_RUNTIME_PYTHON`` is set.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyudev

from akri_handler_sdk.testing import open_discover, wait_until
from akri_udev import sysfs
from akri_udev.details import parse_details
from tests.bench.figures import latency_line, rss_mib
from tests.support.processes import ProcessGroup
from tests.support.umockdev import Bed, camera_bed

pytestmark = [pytest.mark.bench, pytest.mark.umockdev]

RUNTIME_PYTHON = os.environ.get("AKRI_RUNTIME_PYTHON", sys.executable)
EVENTS = 100
DEVICES = 1000


@pytest.fixture
def bed() -> Iterator[Bed]:
    with camera_bed("make bench") as testbed:
        yield testbed


async def test_uevent_to_response_latency_and_idle_rss(
    bed: Bed, processes: ProcessGroup, sockets_dir: Path
) -> None:
    handler = await processes.start(
        "akri_udev",
        env={
            "UMOCKDEV_DIR": bed.root,
            "DISCOVERY_HANDLERS_DIRECTORY": str(sockets_dir),
            "LOG_LEVEL": "warning",
        },
        python=RUNTIME_PYTHON,
    )
    endpoint = sockets_dir / "udev.sock"
    await wait_until(endpoint.exists, within=15.0, what="the udev handler serving")
    added: list[float] = []
    removed: list[float] = []
    details = 'udevRules: [\'SUBSYSTEM=="usb", ATTRS{idVendor}=="abcd"\']'
    async with open_discover(str(endpoint), details) as stream:
        assert await stream.next_list() == ()
        for i in range(EVENTS):
            started = time.perf_counter()
            syspath = bed.plug_usb(
                f"1-{i + 2}",
                vendor="abcd",
                dev=f"189:{i + 10}",
                devname=f"/dev/bus/usb/001/{i + 10:03d}",
            )
            assert len(await stream.next_list(within=2.0)) == 1
            added.append(time.perf_counter() - started)
            started = time.perf_counter()
            bed.unplug(syspath)
            assert await stream.next_list(within=2.0) == ()
            removed.append(time.perf_counter() - started)
        idle_rss = rss_mib(handler.pid)
    print()
    print(f"interpreter: {RUNTIME_PYTHON}")
    print(latency_line("uevent add -> DiscoverResponse", added))
    print(latency_line("uevent remove -> DiscoverResponse", removed))
    print(f"idle udev handler RSS (after {2 * EVENTS} events): {idle_rss:.1f} MiB")


def test_full_enumeration_of_1000_devices(bed: Bed) -> None:
    blocks = [
        f"P: /devices/platform/bench/tty/ttyACM{i}\nN: ttyACM{i}\n"
        f"E: DEVNAME=/dev/ttyACM{i}\nE: SUBSYSTEM=tty\nE: ID_MODEL=bench{i % 10}\n"
        f"A: dev=166:{i}\n"
        for i in range(DEVICES)
    ]
    assert bed.testbed.add_from_string("\n".join(blocks))
    context = pyudev.Context()
    cases = {
        "KERNEL glob (pushed to libudev)": 'KERNEL=="ttyACM*"',
        "ENV glob (pushed to libudev)": 'ENV{ID_MODEL}=="bench*"',
        "SUBSYSTEMS + KERNEL!= (checked after scanning)": 'SUBSYSTEMS=="tty", KERNEL!="ttyS.*"',
    }
    print()
    for label, rule in cases.items():
        queries = parse_details(f"udevRules: ['{rule}']").queries
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            found = sysfs.scan(context, queries)
            samples.append(time.perf_counter() - started)
        assert len(found) >= DEVICES
        print(
            f"full enumeration, {DEVICES} fake devices, {label}:"
            f" median {statistics.median(samples) * 1000:.1f} ms (matched {len(found)})"
        )
