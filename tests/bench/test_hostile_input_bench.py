"""Figures for the guards against hostile input: what the safe YAML reader costs over PyYAML's
``safe_load``, and how long the event loop is held while the udev handler scans a Configuration
of 10,000 rules (its longest stall, and the loop's lag seen by a 1 ms ticker). Printed, not
asserted. Run under ``umockdev-wrapper`` (``make bench`` does).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pyudev
import yaml

from akri_common import safe_yaml
from akri_udev import sysfs
from akri_udev.details import parse_details
from tests.bench.figures import latency_line
from tests.support.umockdev import Bed, camera_bed

pytestmark = [pytest.mark.bench, pytest.mark.umockdev]

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "webhook" / "onvif.yaml"
RULES = 10_000


@pytest.fixture
def bed() -> Iterator[Bed]:
    with camera_bed("make bench") as testbed:
        yield testbed


def _median_ms(load: Callable[[str], Any], text: str, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        load(text)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def test_safe_reader_cost() -> None:
    many = "udevRules:\n" + "".join(f'- KERNEL=="video{i}"\n' for i in range(RULES))
    for label, text, rounds in (
        ("ONVIF sample Configuration", SAMPLE.read_text(), 200),
        (f"udev details of {RULES} rules", many, 5),
    ):
        plain = _median_ms(yaml.safe_load, text, rounds)
        safe = _median_ms(safe_yaml.load, text, rounds)
        print(
            f"\n{label}: yaml.safe_load median={plain:.2f} ms,"
            f" safe_yaml.load median={safe:.2f} ms (x{safe / plain:.2f})"
        )


async def test_loop_stalls_during_a_scan_of_ten_thousand_rules(bed: Bed) -> None:
    rule = 'SUBSYSTEM=="video4linux", DEVPATH!=".*.*.*.*.*.*.*.*Q"'
    details = parse_details("udevRules: [" + ", ".join([f"'{rule}'"] * RULES) + "]")
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)  # wait-ok: the lag probe itself (one tick a millisecond)
            lags.append(time.perf_counter() - before - 0.001)

    ticking = asyncio.ensure_future(ticker())
    started = time.perf_counter()
    found = await sysfs.scan_async(pyudev.Context(), details.queries)
    seconds = time.perf_counter() - started
    stop.set()
    await ticking
    print(f"\nscan of {RULES} rules: {seconds:.2f} s, {len(found)} devices")
    print(latency_line("event-loop lag during the scan (1 ms ticker)", lags))
