"""Benchmarks of the testbed itself; they print figures and assert only that the path works.

- cold build time, read from the build records ``testbed/build.sh`` leaves next to the cached
  binaries (nothing is rebuilt here);
- warm start-up of the control plane with two nodes (a testbed of its own, several runs, median;
  target <= 20 s);
- resident memory of each component right after start-up.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from akri_testbed.binaries import build_records
from akri_testbed.cluster import node_is_ready, start_cluster, stop_cluster

from tests.bench.figures import rss_mib

pytestmark = pytest.mark.bench
RUNS = 3
NODES = 2
WARM_TARGET_S = 20.0
COMPONENTS = ("kube", "kubectl", "etcd", "helm", "node", "kubelet", "containerd", "crane", "pause")


def test_cold_build_time() -> None:
    records = build_records()
    assert set(records) == set(COMPONENTS)
    total = 0.0
    all_cold = True
    print()
    for component in COMPONENTS:
        record = records[component]
        if record is None:
            all_cold = False
            print(f"build {component}: no record (cached binaries predate build records)")
            continue
        steps: list[dict[str, Any]] = list(record["steps"])  # type: ignore[call-overload]
        seconds = float(record["total_seconds"])  # type: ignore[arg-type]
        cold = bool(record["build_cache_was_empty"])
        all_cold = all_cold and cold
        total += seconds
        detail = ", ".join(f"{s['step']} {float(s['seconds']):.1f} s" for s in steps)
        state = "cold build cache" if cold else "build cache already warm"
        print(f"build {component} {record['version']}: {seconds:.1f} s ({state}; {detail})")
    label = "cold build total" if all_cold else "recorded build total (not all cold)"
    print(f"{label}: {total:.1f} s; README: about 8 min from empty caches on 2 cores")


@pytest.fixture
def bench_dir() -> Iterator[Path]:
    """A short directory of this benchmark's own (device-plugin socket paths are limited)."""
    path = Path(tempfile.mkdtemp(prefix="akri-tbb-", dir="/tmp"))
    yield path
    stop_cluster(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.timeout(600)
def test_warm_startup_and_memory(bench_dir: Path) -> None:
    durations: list[float] = []
    rss: dict[str, list[float]] = {}
    readiness: dict[str, list[float]] = {}
    for _ in range(RUNS):
        start = time.monotonic()
        cluster = start_cluster(bench_dir, nodes=NODES, die_with_parent=True)
        durations.append(time.monotonic() - start)
        try:
            assert all(node_is_ready(cluster, node.name) for node in cluster.nodes)
            for proc in cluster.processes:
                rss.setdefault(proc.name, []).append(rss_mib(proc.pid))
            for name, seconds in cluster.startup_seconds.items():
                readiness.setdefault(name, []).append(seconds)
        finally:
            stop_cluster(bench_dir)

    median = statistics.median(durations)
    verdict = "within" if median <= WARM_TARGET_S else "OVER"
    print()
    print(
        f"warm start-up, control plane + {NODES} nodes: n={RUNS} median={median:.2f} s"
        f" min={min(durations):.2f} s max={max(durations):.2f} s"
        f" ({verdict} the {WARM_TARGET_S:.0f} s target)"
    )
    for name, ready_at in readiness.items():
        print(f"  {name:<24} ready at {statistics.median(ready_at):.2f} s (median)")
    for name, mib in rss.items():
        print(f"RSS {name:<24} {statistics.median(mib):.0f} MiB (median of {len(mib)})")
    print(f"RSS total: {sum(statistics.median(m) for m in rss.values()):.0f} MiB")
