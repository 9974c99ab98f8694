"""The debugEcho handler as a real process: registers, serves, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from akri_handler_sdk.testing import (
    RecordingAgent,
    leftover_tasks,
    open_discover,
    socket_directory,
    wait_until,
)
from akri_proto.discovery.v0 import discovery_pb2 as pb

StartHandler = Callable[..., Awaitable[asyncio.subprocess.Process]]


@pytest.fixture(autouse=True)
async def no_leftover_tasks() -> AsyncIterator[None]:
    yield
    assert not leftover_tasks()


@pytest.fixture
def directory() -> Iterator[Path]:
    with socket_directory() as path:
        yield path


@pytest.fixture
async def start_handler(directory: Path) -> AsyncIterator[StartHandler]:
    """Starts ``python -m akri_debug_echo`` processes; kills any still running at teardown."""
    started: list[asyncio.subprocess.Process] = []

    async def start(**extra: str) -> asyncio.subprocess.Process:
        env = {
            **os.environ,
            "DISCOVERY_HANDLERS_DIRECTORY": str(directory),
            "DEBUG_ECHO_AVAILABILITY_FILE": str(directory / "availability.txt"),
            "LOG_FORMAT": "json",
            **extra,
        }
        env.pop("POD_IP", None)
        with (directory / "handler.log").open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "akri_debug_echo", env=env, stdout=log, stderr=log
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_registers_serves_and_stops_on_sigterm(
    directory: Path, start_handler: StartHandler
) -> None:
    socket_path = directory / "debugEcho.sock"
    async with RecordingAgent(directory / "agent-registration.sock") as agent:
        proc = await start_handler(DEBUG_ECHO_INSTANCES_SHARED="false")
        (request,) = await agent.wait_for_registrations(1, within=15.0)
        assert request == pb.RegisterDiscoveryHandlerRequest(
            name="debugEcho",
            endpoint=str(socket_path),
            endpoint_type=pb.RegisterDiscoveryHandlerRequest.UDS,
            shared=False,
        )
        async with open_discover(request.endpoint, "descriptions: [foo0]") as stream:
            (device,) = await stream.next_list()
            assert device.properties == {"DEBUG_ECHO_DESCRIPTION": "foo0"}
            (directory / "availability.txt").write_text("OFFLINE")
            assert await stream.next_list(within=1.0) == ()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10.0) == 0, (
            directory / "handler.log"
        ).read_text()
    assert not socket_path.exists()


async def test_missing_shared_setting_exits_2_naming_the_variable(
    directory: Path, start_handler: StartHandler
) -> None:
    proc = await start_handler()
    assert await asyncio.wait_for(proc.wait(), 15.0) == 2
    log = (directory / "handler.log").read_text()
    assert "DEBUG_ECHO_INSTANCES_SHARED" in log
    assert "Traceback" not in log


async def test_reregisters_after_the_agent_restarts(
    directory: Path, start_handler: StartHandler
) -> None:
    agent = RecordingAgent(directory / "agent-registration.sock")
    proc = await start_handler(DEBUG_ECHO_INSTANCES_SHARED="true")
    await wait_until((directory / "debugEcho.sock").exists, within=15.0, what="serving")
    try:
        async with agent:
            await agent.wait_for_registrations(1, within=5.0)
        async with agent:
            await agent.wait_for_registrations(2, within=2.0)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10.0) == 0
    assert not (directory / "debugEcho.sock").exists()
