"""Registration over real Unix sockets against a real v0.Registration server the test hosts."""

from __future__ import annotations

import asyncio
import socket
import stat
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import pytest

from akri_common.devices import Device
from akri_handler_sdk.errors import ServeError
from akri_handler_sdk.registration import Registrar
from akri_handler_sdk.server import serving
from akri_handler_sdk.settings import HandlerSettings
from akri_handler_sdk.testing import RecordingAgent, open_discover, wait_until
from akri_proto.discovery.v0 import discovery_pb2 as pb

REQUEST = pb.RegisterDiscoveryHandlerRequest

pytestmark = pytest.mark.usefixtures("no_leftover_tasks", "no_leftover_sockets")


class StaticHandler:
    """A handler that reports one fixed device and then waits for ever."""

    name = "static"
    shared = False

    def parse_details(self, details: str, properties: Mapping[str, bytes | None]) -> str:
        return details

    async def discover(self, details: str) -> AsyncIterator[Sequence[Device]]:
        yield [Device(id=details or "d0")]
        await asyncio.Event().wait()


def _registrar(registrar: Registrar | None) -> Registrar:
    assert registrar is not None
    return registrar


async def test_registers_once_the_agent_appears(directory: Path) -> None:
    agent = RecordingAgent(directory / "agent-registration.sock")
    async with serving(StaticHandler(), HandlerSettings(directory=directory)) as served:
        registrar = _registrar(served.registrar)
        await wait_until(lambda: registrar.failures >= 2, what="failed attempts while absent")
        async with agent:
            started = time.monotonic()
            requests = await agent.wait_for_registrations(1, within=2.0)
            assert time.monotonic() - started < 1.0
    assert requests == [
        REQUEST(
            name="static",
            endpoint=str(directory / "static.sock"),
            endpoint_type=REQUEST.UDS,
            shared=False,
        )
    ]


@pytest.mark.parametrize("down_until_failures", [0, 6], ids=["quick-restart", "long-outage"])
async def test_reregisters_within_two_seconds_after_agent_restart(
    directory: Path, down_until_failures: int
) -> None:
    agent = RecordingAgent(directory / "agent-registration.sock")
    await agent.start()
    try:
        async with serving(StaticHandler(), HandlerSettings(directory=directory)) as served:
            registrar = _registrar(served.registrar)
            await agent.wait_for_registrations(1)
            await agent.stop()
            # The lost connection is noticed through the channel state alone (the socket is gone).
            await wait_until(lambda: not registrar.registered.is_set(), within=1.0, what="noticed")
            # six failures: the back-off has reached its 2 s cap (0.1+0.2+0.4+0.8+1.6 s waited)
            await wait_until(lambda: registrar.failures >= down_until_failures, within=10.0)
            restarted = time.monotonic()
            await agent.start()
            requests = await agent.wait_for_registrations(2, within=2.0)
            assert time.monotonic() - restarted < 2.0
            await asyncio.wait_for(registrar.registered.wait(), 1.0)
            assert requests[1] == requests[0]
    finally:
        await agent.stop()


async def test_no_spurious_reregistration_while_the_agent_stays(directory: Path) -> None:
    async with (
        RecordingAgent(directory / "agent-registration.sock") as agent,
        serving(StaticHandler(), HandlerSettings(directory=directory)) as served,
    ):
        await agent.wait_for_registrations(1)
        stream = open_discover(served.endpoint.registered, "dev")
        async with stream:
            assert await stream.next_list() == (Device(id="dev"),)
            with pytest.raises(TimeoutError):
                await agent.wait_for_registrations(2, within=1.0)


async def test_reregisters_when_the_agent_drops_a_stream(directory: Path) -> None:
    async with (
        RecordingAgent(directory / "agent-registration.sock") as agent,
        serving(StaticHandler(), HandlerSettings(directory=directory)) as served,
    ):
        await agent.wait_for_registrations(1)
        async with open_discover(served.endpoint.registered, "dev") as stream:
            await stream.next_list()
        await agent.wait_for_registrations(2, within=2.0)
        await wait_until(lambda: served.servicer.active_streams == 0, what="stream closed")


async def test_network_endpoint_on_loopback(directory: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = HandlerSettings(directory=directory, pod_ip="127.0.0.1", port=port)
    async with (
        RecordingAgent(directory / "agent-registration.sock") as agent,
        serving(StaticHandler(), settings) as served,
    ):
        (request,) = await agent.wait_for_registrations(1)
        assert request.endpoint == f"http://127.0.0.1:{port}"
        assert request.endpoint_type == REQUEST.NETWORK
        assert not (directory / "static.sock").exists()
        async with open_discover(served.endpoint.registered, "net") as stream:
            assert await stream.next_list() == (Device(id="net"),)


async def test_unix_socket_replaces_a_stale_one_and_is_not_world_writable(directory: Path) -> None:
    path = directory / "static.sock"
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(str(path))  # left behind by a crashed handler
    async with serving(StaticHandler(), HandlerSettings(directory=directory), register=False):
        assert stat.S_IMODE(path.stat().st_mode) == 0o660
        async with open_discover(str(path), "fresh") as stream:
            assert await stream.next_list() == (Device(id="fresh"),)
    assert not path.exists()


async def test_refuses_to_replace_a_file_that_is_not_a_socket(directory: Path) -> None:
    (directory / "static.sock").write_text("not a socket")
    with pytest.raises(ServeError, match="not a socket"):
        async with serving(StaticHandler(), HandlerSettings(directory=directory)):
            pass
    (directory / "static.sock").unlink()
