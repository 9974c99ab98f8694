"""Footprint of every Akri-py process: what its imports cost, and what it holds once Ready.

- Import breakdown: for each component, a fresh runtime-only interpreter imports the standard
  library the services share, then each third-party package (grpc, protobuf, structlog, yaml,
  aiohttp, kubernetes_asyncio, ...), then the component's own modules;
  per stage the CPU milliseconds, resident MiB (all and anonymous) and modules it added
  (``footprint_probe.py``). The total CPU divided by upstream's CPU limit predicts how long the
  imports alone take in a container held to that limit.
- Start: each real process on the testbed, from spawn to Ready (agent, controller and webhook:
  ``/readyz`` answers 200; a discovery handler: it logged ``registered`` with the agent; a
  broker: it answers HTTP): wall seconds, CPU seconds (user + system), and that CPU over
  upstream's CPU limit; then its resident memory (anonymous and file-backed), its threads by name
  and its glibc malloc arenas.
- Devices: one debugEcho Configuration with 100 devices, then 500: the time from the
  Configuration's apply to the last Instance (a watch of the API server sees it), and the agent's,
  handler's and controller's memory, threads and arenas with them.

- Device plugins: N ``grpc.aio`` servers (one per plugin, as the agent serves them), then a client
  process holding a connection and a stream to each (as kubelet does): KiB per server and per
  connection, threads and malloc arenas, with and without ``MALLOC_ARENA_MAX=2``
  (``grpc_probe.py``).

Memory inside the containers' own cgroups (working set) is printed by the container-node test
(``tests/e2e/test_upstream_resources.py``) and ``test_chart_bench.py``. Run with ``make bench``.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from akri_testbed.cluster import Cluster

from akri_common.k8s.objects import CONFIGURATION, INSTANCE, Objects
from tests.bench.footprint_probe import STAGES, process_figures
from tests.integration.test_webhook_admission import make_certificate
from tests.support import agents, kube
from tests.support.agents import free_port
from tests.support.metrics import scrape
from tests.support.processes import Child, ProcessGroup, wait_for

pytestmark = pytest.mark.bench
RUNTIME_PYTHON = os.environ.get("AKRI_RUNTIME_PYTHON", sys.executable)
PROBE = Path(__file__).with_name("footprint_probe.py")
REPO = Path(__file__).resolve().parents[2]
PROBE_RUNS = 3
# Upstream's chart limits (CPU cores, memory MiB), spec/akri-compat.md §7 and §10.
UPSTREAM_LIMITS: dict[str, tuple[float, int]] = {
    "agent": (0.026, 79),
    "controller": (0.026, 100),
    "webhook": (0.026, 100),
    "debugEcho": (0.026, 24),
    "udev": (0.024, 24),
    "onvif": (0.024, 24),
    "opcua": (0.024, 24),
    "debugEcho-broker": (0.029, 30),
    "udev-broker": (0.029, 30),
    "opcua-broker": (0.030, 200),
}
READY_TIMEOUT = 60.0
DEVICE_COUNTS = ((100, 5), (500, 1))  # devices, rounds


@pytest.fixture(autouse=True, scope="module")
def bytecode() -> None:
    """Compiles the project's modules for the runtime interpreter first, as the images carry
    them (an editable install under ``PYTHONDONTWRITEBYTECODE`` would compile at every start)."""
    subprocess.run(
        [RUNTIME_PYTHON, "-m", "compileall", "-q", "proto", "services"],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )


def probe(component: str) -> list[dict[str, Any]]:
    """The median of ``PROBE_RUNS`` fresh interpreters' stage figures."""
    runs = []
    for _ in range(PROBE_RUNS):
        done = subprocess.run(
            [RUNTIME_PYTHON, str(PROBE), component],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            cwd="/",
        )
        runs.append(json.loads(done.stdout))
    rows = []
    for stage_rows in zip(*runs, strict=True):
        row = dict(stage_rows[0])
        for key in ("cpu_s", "rss_mib", "anon_mib"):
            row[key] = statistics.median(r[key] for r in stage_rows)
        rows.append(row)
    return rows


def test_import_breakdown() -> None:
    print()
    for component in STAGES:
        cpu_limit, _ = UPSTREAM_LIMITS[component]
        rows = probe(component)
        print(f"{component}: imports in a fresh interpreter (each stage adds to the ones above)")
        print(f"  {'stage':<42} {'CPU ms':>7} {'RSS MiB':>8} {'anon MiB':>9} {'modules':>8}")
        for row in rows:
            print(
                f"  {row['stage']:<42} {row['cpu_s'] * 1000:7.0f} {row['rss_mib']:8.1f}"
                f" {row['anon_mib']:9.1f} {row['modules']:8d}"
            )
        total = rows[-1]["cpu_s"]
        print(
            f"  -> {total:.2f} CPU s of imports = {total / cpu_limit:.1f} s under upstream's"
            f" {cpu_limit * 1000:.0f}m CPU limit"
        )
        assert rows[-1]["modules"] > 0


GRPC_PROBE = Path(__file__).with_name("grpc_probe.py")
PLUGIN_COUNTS = (100, 500)


def test_device_plugin_servers_and_connections() -> None:
    """One ``grpc.aio`` server per device plugin, and kubelet's connection and stream to each: what
    they add to the agent's process, and whether fewer malloc arenas (``MALLOC_ARENA_MAX=2``) pay."""
    print()
    for arenas in ("", "2"):
        env = {**os.environ, "MALLOC_ARENA_MAX": arenas} if arenas else dict(os.environ)
        for count in PLUGIN_COUNTS:
            done = subprocess.run(
                [RUNTIME_PYTHON, str(GRPC_PROBE), str(count)],
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
                env=env,
            )
            found = json.loads(done.stdout)
            before, served, streams = found["before"], found["servers"], found["streams"]
            per_server = (served["anon_mib"] - before["anon_mib"]) * 1024 / count
            per_stream = (streams["anon_mib"] - served["anon_mib"]) * 1024 / count
            print(
                f"{count} plugin servers (MALLOC_ARENA_MAX={arenas or 'unset'}):"
                f" {per_server:.1f} KiB anonymous each idle, {per_stream:.1f} KiB more each with"
                f" kubelet's connection and ListAndWatch stream; process anon"
                f" {streams['anon_mib']:.1f} MiB, RSS {streams['rss_mib']:.1f} MiB,"
                f" {streams['threads']} threads, {streams['arenas']} thread arenas"
                f" ({streams['arena_mib']:.1f} MiB in them)"
            )
            assert streams["anon_mib"] > before["anon_mib"]


@dataclass
class Started:
    component: str
    child: Child
    pid: int
    ready_s: float
    cpu_s: float


def _line(started: Started) -> str:
    cpu_limit, memory_limit = UPSTREAM_LIMITS[started.component]
    figures = process_figures(started.pid)
    threads = ", ".join(f"{n}x{c}" if c > 1 else n for n, c in figures["thread_names"].items())
    return (
        f"  {started.component:<17} ready {started.ready_s:5.2f} s, CPU {started.cpu_s:5.2f} s"
        f" (= {started.cpu_s / cpu_limit:5.1f} s at {cpu_limit * 1000:.0f}m);"
        f" RSS {figures['rss_mib']:5.1f} MiB (anon {figures['anon_mib']:5.1f}, file"
        f" {figures['file_mib']:5.1f}; upstream limit {memory_limit} Mi);"
        f" {figures['threads']} threads [{threads}]; {figures['arenas']} thread arenas"
        f" ({figures['arena_mib']:.1f} MiB)"
    )


def _memory_line(component: str, pid: int) -> str:
    figures = process_figures(pid)
    return (
        f"  {component:<17} RSS {figures['rss_mib']:5.1f} MiB (anon {figures['anon_mib']:5.1f},"
        f" peak {figures['peak_mib']:5.1f}); {figures['threads']} threads;"
        f" {figures['arenas']} thread arenas ({figures['arena_mib']:.1f} MiB)"
    )


async def _until_ready(
    component: str, child: Child, ready: Callable[[], Awaitable[bool]], *, spawned: float
) -> Started:
    async def check() -> bool:
        assert child.proc.returncode is None, f"{component} exited:\n{child.log()}"
        return await ready()

    await wait_for(check, timeout=READY_TIMEOUT, what=f"{component} Ready", interval=0.02)
    took = time.monotonic() - spawned
    pid = _service_pid(child)
    return Started(component, child, pid, took, process_figures(pid)["cpu_s"])


def _service_pid(child: Child) -> int:
    """``unshare`` execs its command in place, so the child is the service itself."""
    return child.pid


async def _http_ok(port: int, path: str) -> bool:
    return (await scrape(port, path)).startswith("HTTP/1.1 200")


def _logged(child: Child, event: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            line = await child.read_json(timeout=0.2)
        except TimeoutError:
            return False
        return bool(line.get("event") == event)

    return check


JSON_STDOUT = {"LOG_FORMAT": "json", "LOG_OUTPUT": "stdout", "LOG_LEVEL": "info"}


async def _start_handler(
    processes: ProcessGroup, component: str, module: str, handlers: Path, **env: str
) -> Started:
    """A handler in a network namespace of its own (``unshare --net``: nothing it sends leaves
    it), registering over the Unix socket in ``handlers``."""
    spawned = time.monotonic()
    child = await processes.start_command(
        ["unshare", "--net", "--", RUNTIME_PYTHON, "-m", module],
        env={"DISCOVERY_HANDLERS_DIRECTORY": str(handlers), **JSON_STDOUT, **env},
        name=component,
    )
    return await _until_ready(component, child, _logged(child, "registered"), spawned=spawned)


async def _start_webhook(processes: ProcessGroup, testbed: Cluster, directory: Path) -> Started:
    crt, key = make_certificate(directory)
    port = free_port()
    client_ssl = ssl.create_default_context(cafile=str(crt))
    spawned = time.monotonic()
    child = await processes.start(
        "akri_webhook",
        "--tls-crt-file", str(crt), "--tls-key-file", str(key),
        "--port", str(port), "--host", "127.0.0.1",
        env={"KUBECONFIG": str(testbed.kubeconfig), "METRICS_PORT": "0", "LOG_LEVEL": "warning"},
        name="webhook",
        python=RUNTIME_PYTHON,
    )  # fmt: skip

    async def ready() -> bool:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"https://127.0.0.1:{port}/readyz", ssl=client_ssl) as response,
            ):
                return response.status == 200
        except aiohttp.ClientError:
            return False

    return await _until_ready("webhook", child, ready, spawned=spawned)


async def _start_broker(
    processes: ProcessGroup, component: str, module: str, **env: str
) -> Started:
    port = free_port()
    spawned = time.monotonic()
    child = await processes.start(
        module,
        env={"BROKER_PORT": str(port), "LOG_LEVEL": "warning", **env},
        name=component,
        python=RUNTIME_PYTHON,
    )
    return await _until_ready(component, child, lambda: _http_ok(port, "/"), spawned=spawned)


async def _instances(objects: Objects, namespace: str) -> int:
    items, _ = await objects.list_all(INSTANCE, namespace=namespace)
    return len(items)


async def _time_to_last(objects: Objects, namespace: str, name: str, count: int) -> float:
    """Applies a debugEcho Configuration with ``count`` devices; seconds from the apply to the
    watch event of the ``count``-th Instance."""
    _, version = await objects.list_all(INSTANCE, namespace=namespace)
    events = objects.watch(INSTANCE, namespace=namespace, resource_version=version)
    config = kube.configuration(name, namespace)
    config["spec"]["discoveryHandler"]["discoveryDetails"] = yaml.safe_dump(
        {"descriptions": [f"device-{i:04d}" for i in range(count)]}
    )
    seen: set[str] = set()
    start = time.perf_counter()
    await objects.apply(CONFIGURATION, config, field_manager="bench", force=True)
    try:
        async with asyncio.timeout(300):
            while len(seen) < count:
                event = await anext(events)
                if event.type == "ADDED":
                    seen.add(event.object["metadata"]["name"])
    finally:
        await events.aclose()
    return time.perf_counter() - start


async def test_start_and_devices(
    testbed: Cluster, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    availability = tmp_path / "availability.txt"
    started: list[Started] = []
    async with kube.api(testbed.kubeconfig) as objects:
        await kube.install_crds(objects)
        await kube.create_namespace(objects, namespace)
        try:
            agent_port = free_port()
            spawned = time.monotonic()
            agent = await processes.start(
                "akri_agent",
                env={
                    **agents.agent_env(
                        testbed, testbed.nodes[0], sockets_dir, metrics_port=agent_port
                    ),
                    "LOG_LEVEL": "warning",
                },
                name="agent",
                python=RUNTIME_PYTHON,
            )
            started.append(
                await _until_ready(
                    "agent", agent, lambda: _http_ok(agent_port, "/readyz"), spawned=spawned
                )
            )
            started.append(
                await _start_handler(
                    processes,
                    "debugEcho",
                    "akri_debug_echo",
                    sockets_dir,
                    DEBUG_ECHO_INSTANCES_SHARED="true",
                    DEBUG_ECHO_AVAILABILITY_FILE=str(availability),
                )
            )
            for component, module in (
                ("udev", "akri_udev"),
                ("onvif", "akri_onvif"),
                ("opcua", "akri_opcua"),
            ):
                started.append(await _start_handler(processes, component, module, sockets_dir))
            controller_port = free_port()
            spawned = time.monotonic()
            controller = await processes.start(
                "akri_controller",
                env={
                    "KUBECONFIG": str(testbed.kubeconfig),
                    "METRICS_PORT": str(controller_port),
                    "LOG_LEVEL": "warning",
                },
                name="controller",
                python=RUNTIME_PYTHON,
            )
            started.append(
                await _until_ready(
                    "controller",
                    controller,
                    lambda: _http_ok(controller_port, "/readyz"),
                    spawned=spawned,
                )
            )
            started.append(await _start_webhook(processes, testbed, tmp_path))
            started.append(
                await _start_broker(
                    processes,
                    "debugEcho-broker",
                    "akri_brokers.debug_echo",
                    DEBUG_ECHO_DESCRIPTION="foo0",
                )
            )
            started.append(
                await _start_broker(
                    processes, "udev-broker", "akri_brokers.udev", UDEV_DEVNODE="/dev/null"
                )
            )
            await asyncio.sleep(2)  # wait-ok: let the idle processes settle before reading them
            print()
            print("start to Ready (one process at a time), then idle:")
            for one in started:
                print(_line(one))
            pids = {s.component: s.pid for s in started}
            for count, rounds in DEVICE_COUNTS:
                took, cpu, gone, gone_cpu = [], [], [], []
                for _ in range(rounds):
                    before = process_figures(pids["agent"])["cpu_s"]
                    took.append(await _time_to_last(objects, namespace, f"bench-{count}", count))
                    cpu.append(process_figures(pids["agent"])["cpu_s"] - before)
                    figures = {
                        c: _memory_line(c, pids[c]) for c in ("agent", "debugEcho", "controller")
                    }
                    before = process_figures(pids["agent"])["cpu_s"]
                    deleting = time.monotonic()
                    await objects.delete(CONFIGURATION, namespace=namespace, name=f"bench-{count}")
                    await wait_for(
                        lambda: _is_zero(objects, namespace),
                        timeout=120,
                        what="no Instances",
                        interval=0.2,
                    )
                    gone.append(time.monotonic() - deleting)
                    gone_cpu.append(process_figures(pids["agent"])["cpu_s"] - before)
                cpu_limit = UPSTREAM_LIMITS["agent"][0]
                print(
                    f"{count} debugEcho devices: Configuration applied -> the last of {count}"
                    f" Instances: median {statistics.median(took):.2f} s, max {max(took):.2f} s"
                    f" ({rounds} rounds); the agent's CPU meanwhile: median"
                    f" {statistics.median(cpu):.2f} s"
                    f" (= {statistics.median(cpu) / cpu_limit:.0f} s under upstream's"
                    f" {cpu_limit * 1000:.0f}m)"
                )
                print(
                    f"  Configuration deleted -> no Instance left: median"
                    f" {statistics.median(gone):.2f} s; the agent's CPU meanwhile: median"
                    f" {statistics.median(gone_cpu):.2f} s"
                    f" (= {statistics.median(gone_cpu) / cpu_limit:.0f} s under upstream's"
                    f" {cpu_limit * 1000:.0f}m)"
                )
                for line in figures.values():
                    print(line)
        finally:
            await agents.delete_configurations(agents.Namespaced(objects, namespace), timeout=120)


async def _is_zero(objects: Objects, namespace: str) -> bool:
    return await _instances(objects, namespace) == 0
