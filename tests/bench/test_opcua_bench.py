"""OPC UA handler benchmarks against real asyncua servers on loopback; they print figures.

- server start -> device reported: a server registered with an LDS starts listening (the clock
  starts when it listens, after asyncua's own initialisation) until the handler's ``Discover``
  stream lists it; and server stop -> device gone. Default settings (a 1 s re-read).
- resident memory of the handler process: idle before any ``Discover``,
  and while it follows 20 servers registered with an LDS; its CPU use while following them.
- resident memory of the sample monitoring broker while it serves a changing value.
Run with ``make bench``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from akri_handler_sdk.testing import open_discover, wait_until
from tests.bench.figures import latency_line, rss_mib
from tests.integration.opcua_support.fixtures import lds, opcua_lab, server
from tests.integration.opcua_support.lab import OpcuaLab
from tests.support.opcua_broker import get_value, start_broker
from tests.support.processes import Child, ProcessGroup, wait_for

pytestmark = [pytest.mark.bench, pytest.mark.timeout(600)]

RUNTIME_PYTHON = os.environ.get("AKRI_RUNTIME_PYTHON", sys.executable)
SAMPLES = 20
FLEET = 20
CPU_WINDOW = 10.0
TARGET_P95_MS = 2000
RSS_LIMIT_MIB = 24  # upstream's chart limit for a discovery handler


def details(url: str) -> str:
    return f"opcuaDiscoveryMethod: {{standard: {{discoveryUrls: ['{url}']}}}}"


async def start_handler(processes: ProcessGroup, directory: Path) -> Child:
    handler = await processes.start(
        "akri_opcua",
        env={"DISCOVERY_HANDLERS_DIRECTORY": str(directory), "LOG_LEVEL": "warning"},
        name="opcua-handler",
        python=RUNTIME_PYTHON,
    )
    await wait_until((directory / "opcua.sock").exists, within=20.0, what="the handler serving")
    return handler


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
async def one_server(tmp_path: Path) -> AsyncIterator[tuple[OpcuaLab, str, str]]:
    registry = lds()
    plc = server("plc", application_name="PLC", registered_with=registry, started=False)
    async with opcua_lab([registry, plc], tmp_path) as lab:
        yield lab, registry.url, plc.url


async def test_server_start_to_device_reported(
    one_server: tuple[OpcuaLab, str, str], processes: ProcessGroup, sockets_dir: Path
) -> None:
    lab, lds_url, plc_url = one_server
    await start_handler(processes, sockets_dir)
    started: list[float] = []
    stopped: list[float] = []
    async with open_discover(str(sockets_dir / "opcua.sock"), details(lds_url)) as stream:
        assert await stream.next_list(within=10) == ()
        for _ in range(SAMPLES):
            listening = await lab.start("plc")
            await stream.wait_for(lambda d: [x.id for x in d] == [plc_url], within=10)
            started.append(time.monotonic() - listening)
            down = await lab.stop("plc")
            await stream.wait_for(lambda d: d == (), within=10)
            stopped.append(time.monotonic() - down)
    print()
    print(latency_line("opcua server start -> device reported (LDS, 1 s re-read)", started))
    print(latency_line("opcua server stop -> device gone", stopped))
    print(f"(target: start -> reported p95 <= {TARGET_P95_MS} ms)")


async def test_handler_memory_idle_and_with_twenty_servers(
    tmp_path: Path, processes: ProcessGroup, sockets_dir: Path
) -> None:
    registry = lds()
    fleet = [
        server(f"s{i:02d}", application_name=f"PLC {i}", registered_with=registry)
        for i in range(FLEET)
    ]
    handler = await start_handler(processes, sockets_dir)
    idle = rss_mib(handler.pid)
    async with (
        opcua_lab([registry, *fleet], tmp_path) as lab,
        open_discover(str(sockets_dir / "opcua.sock"), details(registry.url)) as stream,
    ):
        devices = await stream.wait_for(lambda d: len(d) == FLEET, within=60)
        assert sorted(d.id for d in devices) == sorted(s.url for s in fleet)
        before = cpu_seconds(handler.pid)
        window_start = time.monotonic()
        with pytest.raises(TimeoutError):
            await stream.next_list(within=CPU_WINDOW)  # nothing changes meanwhile
        used = cpu_seconds(handler.pid) - before
        elapsed = time.monotonic() - window_start
        following = rss_mib(handler.pid)
        servers_rss = rss_mib(lab.pid)
    print()
    print(
        f"opcua handler RSS: idle before Discover {idle:.1f} MiB, following {FLEET} servers"
        f" {following:.1f} MiB (upstream's limit {RSS_LIMIT_MIB} MiB; interpreter"
        f" {Path(RUNTIME_PYTHON).parent.parent.name})"
    )
    print(
        f"opcua handler CPU following {FLEET} servers at a 1 s re-read:"
        f" {100 * used / elapsed:.1f} % of one core (the {FLEET + 1} asyncua servers: {servers_rss:.0f} MiB)"
    )


async def test_broker_memory_while_serving(tmp_path: Path, processes: ProcessGroup) -> None:
    plc = server("plc", application_name="PLC", variable="Temperature", value=1)
    async with opcua_lab([plc], tmp_path) as lab:
        env = {"OPCUA_DISCOVERY_URL": plc.url, "IDENTIFIER": "Temperature", "LOG_LEVEL": "warning"}
        broker, port = await start_broker(processes, env, python=RUNTIME_PYTHON)
        await wait_for(lambda: _reads(port, 1), timeout=20, what="the first value")
        for value in range(2, 50):
            await lab.set("plc", value)
        await wait_for(lambda: _reads(port, 49), timeout=10, what="the last value")
        serving = rss_mib(broker.pid)
    print()
    print(
        f"opcua monitoring broker RSS while serving: {serving:.1f} MiB"
        f" (upstream's chart: request 76 MiB, limit 200 MiB)"
    )


async def _reads(port: int, value: int) -> bool:
    reading = await get_value(port)
    return reading is not None and reading[0] == value
