"""The sample OPC UA monitoring broker as a process against a real asyncua server."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.opcua_support.fixtures import opcua_lab, server
from tests.integration.opcua_support.lab import OpcuaLab
from tests.support.opcua_broker import get_value, start_broker
from tests.support.processes import ProcessGroup, wait_for

PLC = server("plc", application_name="PLC", variable="Temperature", value=21)


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[OpcuaLab]:
    async with opcua_lab([PLC], tmp_path) as running:
        yield running


async def test_serves_the_latest_value_and_follows_a_server_restart(
    lab: OpcuaLab, processes: ProcessGroup
) -> None:
    env = {
        # The suffixed form alone, as in a pod that got several Instances.
        "OPCUA_DISCOVERY_URL_A1B2C3": PLC.url,
        "IDENTIFIER": "Temperature",
        "NAMESPACE_INDEX": "2",
    }
    broker, port = await start_broker(processes, env)

    async def reads(value: int) -> bool:
        return await get_value(port) == (value, PLC.url)

    await wait_for(lambda: reads(21), timeout=15, what="the first value", interval=0.1)
    await lab.set("plc", 42)
    await wait_for(lambda: reads(42), timeout=5, what="the changed value", interval=0.05)
    # The server restarts: the broker subscribes again and sees the values written after.
    await lab.stop("plc")
    await lab.start("plc")
    await lab.set("plc", -7)
    await wait_for(lambda: reads(-7), timeout=15, what="a value after the restart", interval=0.1)
    assert await processes.stop(broker) == 0, broker.log()


async def test_missing_identifier_exits_2_naming_it(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "akri_opcua_broker",
        env={"OPCUA_DISCOVERY_URL": "opc.tcp://127.0.0.1:4840/"},
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "IDENTIFIER" in err.decode()
