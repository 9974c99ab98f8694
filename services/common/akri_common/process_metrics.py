"""The ``process_*`` metrics (as upstream Akri and prometheus_client export them), read from /proc.

``collect()`` reads, at each scrape, ``/proc/self/stat`` (CPU seconds, virtual and resident memory,
start time, with the boot time from ``/proc/stat``), ``/proc/self/fd`` (open descriptors) and
``/proc/self/limits`` (their limit). Linux only: where ``/proc`` cannot be read, the families that
need it are left out, as prometheus_client does.
"""

from __future__ import annotations

import os

from akri_common.exposition import Family, Sample, counter

PROC = "/proc"


def _gauge(name: str, documentation: str, value: float) -> Family:
    return Family(name, "gauge", documentation, (Sample(name, (), value),))


class ProcessCollector:
    """A scrape-time collector of this process's figures (``pid`` and ``proc`` for tests)."""

    def __init__(self, *, pid: str = "self", proc: str = PROC) -> None:
        self._pid = os.path.join(proc, pid)
        self._proc = proc
        self._ticks = float(os.sysconf("SC_CLK_TCK"))
        self._page = float(os.sysconf("SC_PAGE_SIZE"))
        self._boot: float | None = None

    def _boot_time(self) -> float:
        if self._boot is None:
            with open(os.path.join(self._proc, "stat"), "rb") as stat:
                for line in stat:
                    if line.startswith(b"btime "):
                        self._boot = float(line.split()[1])
                        break
                else:
                    raise OSError("no btime in /proc/stat")
        return self._boot

    def collect(self) -> list[Family]:
        families: list[Family] = []
        try:
            with open(os.path.join(self._pid, "stat"), "rb") as stat:
                # Fields after the command name, which may itself hold spaces and parentheses.
                parts = stat.read().rpartition(b")")[2].split()
            boot = self._boot_time()
            families += [
                _gauge(
                    "process_virtual_memory_bytes",
                    "Virtual memory size in bytes.",
                    float(parts[20]),
                ),
                _gauge(
                    "process_resident_memory_bytes",
                    "Resident memory size in bytes.",
                    float(parts[21]) * self._page,
                ),
                _gauge(
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    float(parts[19]) / self._ticks + boot,
                ),
                counter(
                    "process_cpu_seconds",
                    "Total user and system CPU time spent in seconds.",
                    (float(parts[11]) + float(parts[12])) / self._ticks,
                ),
            ]
        except (OSError, IndexError, ValueError):
            pass
        try:
            open_fds = len(os.listdir(os.path.join(self._pid, "fd")))
            with open(os.path.join(self._pid, "limits"), "rb") as limits:
                max_fds = next(
                    float(line.split()[3]) for line in limits if line.startswith(b"Max open files")
                )
            families += [
                _gauge("process_open_fds", "Number of open file descriptors.", open_fds),
                _gauge("process_max_fds", "Maximum number of open file descriptors.", max_fds),
            ]
        except (OSError, IndexError, ValueError, StopIteration):
            pass
        return families
