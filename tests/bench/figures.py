"""Summaries that benchmarks print: medians, percentiles and resident memory."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of the samples."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def latency_line(label: str, seconds: Sequence[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{label}: n={len(ms)} median={statistics.median(ms):.1f} ms"
        f" p95={percentile(ms, 0.95):.1f} ms max={max(ms):.1f} ms"
    )


def rss_mib(pid: int) -> float:
    """Resident set size of a process, from /proc."""
    return _status_mib(pid, "VmRSS")


def peak_rss_mib(pid: int) -> float:
    """The highest resident set size the process has had so far (its high-water mark)."""
    return _status_mib(pid, "VmHWM")


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for pid {pid}")
