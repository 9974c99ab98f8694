"""The debugEcho handler as a real process: registers, serves, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from akri_handler_sdk.testing import RecordingAgent, open_discover, wait_until
from tests.support.handlers import HandlerProcesses, handler_processes

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")


@pytest.fixture
async def handler(directory: Path) -> AsyncIterator[HandlerProcesses]:
    """Runs ``python -m akri_debug_echo`` processes; kills any still running at teardown."""
    env = {"DEBUG_ECHO_AVAILABILITY_FILE": str(directory / "availability.txt")}
    async with handler_processes("akri_debug_echo", "debugEcho", directory, env) as handlers:
        yield handlers


async def test_registers_serves_and_stops_on_sigterm(
    directory: Path, handler: HandlerProcesses
) -> None:
    async with RecordingAgent(handler.agent_socket) as agent:
        proc = await handler.start(DEBUG_ECHO_INSTANCES_SHARED="false")
        request = await handler.expect_registration(agent, shared=False)
        async with open_discover(request.endpoint, "descriptions: [foo0]") as stream:
            (device,) = await stream.next_list()
            assert device.properties == {"DEBUG_ECHO_DESCRIPTION": "foo0"}
            (directory / "availability.txt").write_text("OFFLINE")
            assert await stream.next_list(within=1.0) == ()
        await handler.stop(proc)


async def test_missing_shared_setting_exits_2_naming_the_variable(
    handler: HandlerProcesses,
) -> None:
    proc = await handler.start()
    assert await asyncio.wait_for(proc.wait(), 15.0) == 2
    log = handler.log()
    assert "DEBUG_ECHO_INSTANCES_SHARED" in log
    assert "Traceback" not in log


async def test_reregisters_after_the_agent_restarts(handler: HandlerProcesses) -> None:
    agent = RecordingAgent(handler.agent_socket)
    proc = await handler.start(DEBUG_ECHO_INSTANCES_SHARED="true")
    await wait_until(handler.socket.exists, within=15.0, what="serving")
    try:
        async with agent:
            await agent.wait_for_registrations(1, within=5.0)
        async with agent:
            await agent.wait_for_registrations(2, within=2.0)
    finally:
        await handler.stop(proc)
