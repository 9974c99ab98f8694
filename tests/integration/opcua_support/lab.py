"""The test side of ``servers.py``: start the server process, send commands, read its events.

``OpcuaLab(specs)`` is an async context manager: it starts the process, waits for ``ready``, and
at exit closes its stdin (the servers stop and the process exits) or kills it past a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Self

from tests.integration.opcua_support.servers import ServerSpec

READY_WITHIN = 120.0  # 1.5 s of asyncua initialisation per server, on a busy 2-core machine
COMMAND_WITHIN = 30.0
STOP_WITHIN = 10.0


class OpcuaLab:
    def __init__(self, specs: Sequence[ServerSpec], *, log: Path) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self._log = log
        self._proc: asyncio.subprocess.Process | None = None
        self.ready_at = 0.0

    def url(self, name: str) -> str:
        """The URL server ``name`` advertises."""
        return self.specs[name].url

    def local_url(self, name: str) -> str:
        """The URL server ``name`` is reached at on loopback (whatever host it advertises)."""
        spec = self.specs[name]
        return f"opc.tcp://127.0.0.1:{spec.port}/{spec.name}/"

    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    async def __aenter__(self) -> Self:
        spec = json.dumps([asdict(s) for s in self.specs.values()])
        with self._log.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.integration.opcua_support.servers",
                spec,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
            )
        try:
            self.ready_at = (await self._event("ready", within=READY_WITHIN))["at"]
        except BaseException:
            await self._kill()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), STOP_WITHIN)
        except TimeoutError:
            await self._kill()
        if proc.stdout is not None:
            proc.stdout.feed_eof()

    async def start(self, name: str) -> float:
        """Starts server ``name``; returns the monotonic time it began to listen."""
        return float((await self._command({"op": "start", "name": name}, "started"))["at"])

    async def stop(self, name: str) -> float:
        """Stops server ``name`` (its connections close); returns when it had stopped."""
        return float((await self._command({"op": "stop", "name": name}, "stopped"))["at"])

    async def set(self, name: str, value: int) -> None:
        """Writes ``value`` into server ``name``'s variable."""
        await self._command({"op": "set", "name": name, "value": value}, "set")

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    async def _command(self, command: dict[str, Any], event: str) -> dict[str, Any]:
        assert self._proc is not None
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self._proc.stdin.drain()
        return await self._event(event, within=COMMAND_WITHIN)

    async def _event(self, event: str, *, within: float) -> dict[str, Any]:
        assert self._proc is not None
        assert self._proc.stdout is not None
        async with asyncio.timeout(within):
            while True:
                line = await self._proc.stdout.readline()
                if not line:
                    raise AssertionError(f"the OPC UA server process exited:\n{self.log()}")
                document: dict[str, Any] = json.loads(line)
                if document.get("event") == event:
                    return document

    async def _kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
