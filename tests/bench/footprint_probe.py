"""Measures what each import costs a fresh interpreter; run as a script by the footprint benchmark.

``python footprint_probe.py <component>`` imports, in a fresh interpreter of the runtime
environment, the stages of that component in order (the standard library the services share, then
each third-party package, then the component's own modules) and prints one JSON line: per stage the
CPU seconds (user + system), resident memory (anonymous and file-backed) and module count it added.
Stages are cumulative, so a package's figure excludes what an earlier stage already loaded. Only the
standard library is imported here, so the probe itself adds nothing to what it measures.

``process_figures(pid)`` reads the same figures of a running process from ``/proc`` (plus its
threads and glibc malloc arenas); the benchmark imports it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
# A thread's malloc arena lives in heaps of HEAP_MAX_SIZE (2 * DEFAULT_MMAP_THRESHOLD_MAX = 64 MiB
# on 64-bit glibc), each mapped as a read-write part followed by a reserved (---p) part.
ARENA_HEAP = 64 * MIB

# The standard library every service loads anyway, measured first so that packages are charged
# only for what they add.
STDLIB = ("asyncio", "logging", "json", "ssl", "signal", "dataclasses", "typing", "contextlib")
SHARED = ("grpc", "google.protobuf", "structlog", "yaml")
KUBE = ("aiohttp", "akri_common.k8s.loader")
# component -> ordered import stages after the standard library; the last are the component's own.
# The agent and controller parse no YAML (the kubeconfig loader's yaml is deferred until a
# kubeconfig file is read, which an in-cluster process never does), so yaml is no stage of theirs.
STAGES: dict[str, tuple[str, ...]] = {
    "agent": (
        "grpc",
        "google.protobuf",
        "structlog",
        *KUBE,
        "akri_proto.discovery.v0.discovery_pb2",
        "akri_proto.deviceplugin.v1beta1.api_pb2",
        "akri_proto.podresources.v1.api_pb2",
        "akri_agent.app",
        "akri_agent.__main__",
    ),
    "controller": ("structlog", *KUBE, "akri_controller.app", "akri_controller.__main__"),
    "webhook": ("structlog", "yaml", *KUBE, "akri_webhook.app", "akri_webhook.__main__"),
    "debugEcho": (
        *SHARED,
        "akri_proto.discovery.v0.discovery_pb2",
        "akri_handler_sdk",
        "akri_debug_echo.__main__",
    ),
    "udev": (
        *SHARED,
        "pyudev",
        "re2",
        "akri_proto.discovery.v0.discovery_pb2",
        "akri_handler_sdk",
        "akri_udev.__main__",
    ),
    # The handlers' discovery paths (loaded at the first Discover) are stages of their own.
    "onvif": (
        *SHARED,
        "akri_proto.discovery.v0.discovery_pb2",
        "akri_handler_sdk",
        "akri_onvif.__main__",
        "akri_onvif.tracker",
    ),
    "opcua": (
        *SHARED,
        "akri_proto.discovery.v0.discovery_pb2",
        "akri_handler_sdk",
        "akri_opcua.__main__",
        "akri_opcua.tracker",
    ),
    "debugEcho-broker": ("structlog", "akri_brokers.debug_echo.__main__"),
    "udev-broker": ("structlog", "akri_brokers.udev.__main__"),
    "opcua-broker": (
        "grpc",
        "google.protobuf",
        "structlog",
        "asyncua",
        "akri_opcua_broker.__main__",
    ),
}
# What a stage's module name stands for in the printed table.
LABELS = {
    "google.protobuf": "protobuf",
    "akri_common.k8s.loader": "kubernetes_asyncio (client, no models)",
    "lxml.etree": "lxml",
    "re2": "google-re2",
}


def status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS, RssAnon, RssFile, VmHWM and Threads of ``/proc/<pid>/status`` (kB, threads count)."""
    wanted = ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads")
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            found[key] = int(value.split()[0])
    return found


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds of the process (all its threads), from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def thread_names(pid: int) -> dict[str, int]:
    """How many threads carry each name (``comm``)."""
    names: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
        except OSError:  # the thread ended meanwhile
            continue
        names[name] = names.get(name, 0) + 1
    return dict(sorted(names.items()))


def arenas(pid: int) -> tuple[int, float]:
    """Thread malloc arenas and the resident MiB in them: an arena's heap is an anonymous
    read-write mapping at a 64 MiB-aligned address followed by its reserved (---p) rest, the two
    together exactly 64 MiB."""
    maps: list[tuple[int, int, str, int]] = []  # start, end, perms, resident kB
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if len(head) == 5 and "-" in head[0]:  # an anonymous mapping's header line
            start, end = (int(x, 16) for x in head[0].split("-"))
            maps.append((start, end, head[1], 0))
        elif len(head) >= 6 and "-" in head[0]:  # a file mapping
            maps.append((0, 0, "", 0))
        elif head[0] == "Rss:" and maps:
            start, end, perms, _ = maps[-1]
            maps[-1] = (start, end, perms, int(head[1]))
    count, rss_kb = 0, 0
    for (start, end, perms, rss), (next_start, next_end, next_perms, _) in zip(
        maps, [*maps[1:], (0, 0, "", 0)], strict=True
    ):
        whole = end - start + (next_end - next_start if next_start == end else 0)
        if (
            start % ARENA_HEAP == 0
            and perms.startswith("rw")
            and (
                (whole == ARENA_HEAP and next_perms.startswith("---")) or end - start == ARENA_HEAP
            )
        ):
            count += 1
            rss_kb += rss
    return count, rss_kb / 1024


def process_figures(pid: int) -> dict[str, Any]:
    """What the benchmark prints about a running process."""
    found = status(pid)
    count, arena_mib = arenas(pid)
    return {
        "cpu_s": cpu_seconds(pid),
        "rss_mib": found["VmRSS"] / 1024,
        "anon_mib": found["RssAnon"] / 1024,
        "file_mib": found["RssFile"] / 1024,
        "peak_mib": found["VmHWM"] / 1024,
        "threads": found["Threads"],
        "thread_names": thread_names(pid),
        "arenas": count,
        "arena_mib": arena_mib,
    }


def measure(component: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    before = status()
    cpu = cpu_seconds()
    modules = len(sys.modules)
    rows.append(
        {
            "stage": "interpreter",
            "cpu_s": time.process_time(),
            "rss_mib": before["VmRSS"] / 1024,
            "anon_mib": before["RssAnon"] / 1024,
            "modules": modules,
        }
    )
    for stage in ("stdlib", *STAGES[component]):
        names = STDLIB if stage == "stdlib" else (stage,)
        start = time.process_time()
        for name in names:
            importlib.import_module(name)
        after = status()
        rows.append(
            {
                "stage": LABELS.get(stage, stage),
                "cpu_s": time.process_time() - start,
                "rss_mib": (after["VmRSS"] - before["VmRSS"]) / 1024,
                "anon_mib": (after["RssAnon"] - before["RssAnon"]) / 1024,
                "modules": len(sys.modules) - modules,
            }
        )
        before, modules = after, len(sys.modules)
    del cpu
    rows.append(
        {
            "stage": "total",
            "cpu_s": time.process_time(),
            "rss_mib": before["VmRSS"] / 1024,
            "anon_mib": before["RssAnon"] / 1024,
            "modules": modules,
        }
    )
    return rows


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
