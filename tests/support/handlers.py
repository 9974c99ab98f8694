"""A discovery handler run as a real process (``python -m <module>``) against a ``RecordingAgent``.

``handler_processes(module, name, directory, env)`` gives a ``HandlerProcesses``: it starts the
handler with ``DISCOVERY_HANDLERS_DIRECTORY`` set to ``directory`` (where the test's recording agent
serves ``agent-registration.sock`` and the handler its ``<name>.sock``), JSON logs appended to
``directory/handler.log`` and no ``POD_IP`` (so it serves on a Unix socket). It checks the one
registration a handler sends and stops a handler as the kubelet would, with SIGTERM, checking that
it exits 0 and removes its socket. On exit it kills every handler still running, so no test leaves
one behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from akri_handler_sdk.testing import RecordingAgent
from akri_proto.discovery.v0 import discovery_pb2 as pb

AGENT_SOCKET = "agent-registration.sock"
LOG_NAME = "handler.log"


class HandlerProcesses:
    """Starts, checks and stops the processes of one handler serving in one directory."""

    def __init__(self, module: str, name: str, directory: Path, env: Mapping[str, str]) -> None:
        self.module = module
        self.name = name
        self.directory = directory
        self._env = dict(env)
        self._started: list[asyncio.subprocess.Process] = []

    @property
    def socket(self) -> Path:
        """Where the handler serves ``Discover`` (``<directory>/<name>.sock``)."""
        return self.directory / f"{self.name}.sock"

    @property
    def agent_socket(self) -> Path:
        """Where it looks for the agent's registration server."""
        return self.directory / AGENT_SOCKET

    def log(self) -> str:
        """What every handler started here has logged so far."""
        return (self.directory / LOG_NAME).read_text()

    async def start(self, **extra: str) -> asyncio.subprocess.Process:
        """Starts ``python -m <module>`` with ``extra`` added to its environment."""
        env = {
            **os.environ,
            "DISCOVERY_HANDLERS_DIRECTORY": str(self.directory),
            **self._env,
            "LOG_FORMAT": "json",
            **extra,
        }
        env.pop("POD_IP", None)
        with (self.directory / LOG_NAME).open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, env=env, stdout=log, stderr=log
            )
        self._started.append(proc)
        return proc

    async def expect_registration(
        self, agent: RecordingAgent, *, shared: bool, within: float = 15.0
    ) -> pb.RegisterDiscoveryHandlerRequest:
        """Waits for the one registration the handler sends and checks it: its name, its socket
        (a UDS endpoint) and ``shared``."""
        (request,) = await agent.wait_for_registrations(1, within=within)
        assert request == pb.RegisterDiscoveryHandlerRequest(
            name=self.name,
            endpoint=str(self.socket),
            endpoint_type=pb.RegisterDiscoveryHandlerRequest.UDS,
            shared=shared,
        )
        return request

    async def stop(self, proc: asyncio.subprocess.Process, *, within: float = 10.0) -> None:
        """Sends SIGTERM and checks that the handler exits 0 within ``within`` seconds (showing
        its log otherwise) and has removed its socket."""
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), within) == 0, self.log()
        assert not self.socket.exists()

    async def kill_all(self) -> None:
        """Kills every handler started here that still runs, and reaps it."""
        for proc in self._started:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@contextlib.asynccontextmanager
async def handler_processes(
    module: str, name: str, directory: Path, env: Mapping[str, str]
) -> AsyncIterator[HandlerProcesses]:
    """``HandlerProcesses`` for handler ``name`` run as ``python -m module`` with ``env`` added,
    serving in ``directory``; kills any still running on exit."""
    handlers = HandlerProcesses(module, name, directory, env)
    try:
        yield handlers
    finally:
        await handlers.kill_all()
