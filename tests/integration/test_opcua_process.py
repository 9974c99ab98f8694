"""``python -m akri_opcua`` as a real process: registers (shared), discovers, stops; bad input."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from akri_handler_sdk.testing import RecordingAgent, open_discover
from tests.integration.opcua_support.fixtures import opcua_lab, server
from tests.integration.opcua_support.lab import OpcuaLab
from tests.support.handlers import HandlerProcesses, handler_processes

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")

PLC = server("plc", application_name="PLC")
CONFIGURATION = """\
apiVersion: akri.sh/v0
kind: Configuration
metadata: {{name: akri-opcua}}
spec:
  discoveryHandler:
    name: opcua
    discoveryDetails: |+
      opcuaDiscoveryMethod:
        standard:
          discoveryUrls: [{url!r}]
"""


@pytest.fixture
async def handler(directory: Path) -> AsyncIterator[HandlerProcesses]:
    env = {"OPCUA_REFRESH_INTERVAL_SECONDS": "0.5"}
    async with handler_processes("akri_opcua", "opcua", directory, env) as handlers:
        yield handlers


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[OpcuaLab]:
    async with opcua_lab([PLC], tmp_path) as running:
        yield running


async def akri(*args: str, timeout: float = 30) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "akri_cli",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_registers_shared_discovers_a_server_and_stops(
    lab: OpcuaLab, handler: HandlerProcesses
) -> None:
    async with RecordingAgent(handler.agent_socket) as agent:
        proc = await handler.start()
        request = await handler.expect_registration(agent, shared=True)
        details = f"opcuaDiscoveryMethod: {{standard: {{discoveryUrls: ['{PLC.url}']}}}}"
        async with open_discover(request.endpoint, details) as stream:
            (device,) = await stream.wait_for(lambda d: len(d) == 1, within=15)
        assert device.id == PLC.url
        assert device.properties["OPCUA_DISCOVERY_URL"] == PLC.url
        await handler.stop(proc)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("opc.tcp://127.0.0.1/", "has no port"),
        ("tcp://127.0.0.1:4840/", "does not start with opc.tcp://"),
        ("http://127.0.0.1:4840/", "does not start with opc.tcp://"),
    ],
)
async def test_akri_discover_exits_2_naming_the_field_of_a_bad_url(
    handler: HandlerProcesses, tmp_path: Path, url: str, message: str
) -> None:
    async with RecordingAgent(handler.agent_socket) as agent:
        proc = await handler.start()
        await handler.expect_registration(agent, shared=True)
        path = tmp_path / "configuration.yaml"
        path.write_text(CONFIGURATION.format(url=url))
        code, out, err = await akri(
            "discover", "-f", str(path), "--endpoint", f"unix://{handler.socket}"
        )
        await handler.stop(proc)
    assert code == 2, (out, err)
    assert err.count("\n") == 1, err
    assert "opcuaDiscoveryMethod.standard.discoveryUrls[0]" in err
    assert message in err


async def test_bad_refresh_setting_exits_2_naming_the_variable(handler: HandlerProcesses) -> None:
    proc = await handler.start(OPCUA_REFRESH_INTERVAL_SECONDS="often")
    assert await asyncio.wait_for(proc.wait(), 15.0) == 2
    assert "OPCUA_REFRESH_INTERVAL_SECONDS" in handler.log()


async def test_asyncua_is_loaded_only_by_a_discover_call() -> None:
    probe = (
        "import sys, akri_opcua.__main__, akri_opcua.handler, akri_opcua.tracker;"
        "print('asyncua' in sys.modules)"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert out.decode().strip() == "False"


async def test_the_discovery_path_runs_without_asyncua(lab: OpcuaLab) -> None:
    """The handler's client (``link``, ``binary``) talks to a real asyncua server in a fresh
    interpreter that never loads asyncua: the handler's memory does not include it."""
    probe = (
        "import asyncio, sys, akri_opcua.__main__, akri_opcua.handler, akri_opcua.tracker\n"
        "from akri_opcua.link import Link\n"
        "async def main():\n"
        f"    link = Link({PLC.url!r}, timeout=10, on_lost=lambda: None)\n"
        "    try:\n"
        "        servers, endpoints = await link.find_servers(), await link.endpoints()\n"
        "    finally:\n"
        "        await link.close()\n"
        "    print([s.name for s in servers], [e.security_policy for e in endpoints])\n"
        "asyncio.run(main())\n"
        "print('asyncua' in sys.modules)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert out.decode().splitlines() == ["['PLC'] ['None']", "False"]
