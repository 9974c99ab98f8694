"""Real child processes for tests: started with a chosen environment, stopped for sure.

``ProcessGroup`` starts Akri-py commands with the test's interpreter (``python -m ...``), sends
their stderr to a log file per process, keeps stdout as a pipe to read from, and at teardown stops
every one still running (SIGTERM, then SIGKILL after a deadline), so no test leaves a process
behind. ``wait_for`` checks a condition until it holds or a deadline passes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STOP_DEADLINE = 5.0


@dataclass
class Child:
    name: str
    proc: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def read_json(self, *, timeout: float) -> dict[str, Any]:
        """The next JSON line on stdout, within ``timeout`` seconds."""
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise AssertionError(f"{self.name} closed its output; its log:\n{self.log()}")
        document: dict[str, Any] = json.loads(line)
        return document


class ProcessGroup:
    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._children: list[Child] = []
        self._scratch: list[Path] = []

    def scratch_dir(self) -> Path:
        """A short directory under /tmp for sockets (paths are limited to 107 bytes), removed
        once every process of the group has stopped."""
        path = Path(tempfile.mkdtemp(prefix="akri-", dir="/tmp"))
        self._scratch.append(path)
        return path

    async def start(
        self,
        module: str,
        *args: str,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
        python: str = sys.executable,
    ) -> Child:
        """Runs ``python -m module args`` with ``env`` added to this process's environment.

        ``python`` defaults to the test's interpreter; benchmarks pass the runtime-only one.
        """
        label = name or module.rsplit(".", 1)[-1]
        return await self.start_command([python, "-m", module, *args], env=env, name=label)

    async def start_command(
        self, argv: list[str], *, env: Mapping[str, str] | None = None, name: str
    ) -> Child:
        """Runs any program (a handler in another language, say) like ``start`` runs ours."""
        label = name
        log_path = self._logs / f"{len(self._children) + 1:02d}-{label}.log"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env={**os.environ, **(env or {})},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        child = Child(name=label, proc=proc, log_path=log_path)
        self._children.append(child)
        return child

    async def stop(self, child: Child, *, sig: int = signal.SIGTERM) -> int:
        """Signals the process and waits for it; kills it if it outlives the deadline."""
        if child.proc.returncode is None:
            child.proc.send_signal(sig)
        try:
            return await asyncio.wait_for(child.proc.wait(), STOP_DEADLINE)
        except TimeoutError:
            child.proc.kill()
            return await child.proc.wait()

    async def stop_all(self) -> None:
        for child in reversed(self._children):
            await self.stop(child)
            # Let the transport close its pipes within the test's own loop.
            if child.proc.stdout is not None:
                child.proc.stdout.feed_eof()
        self._children.clear()
        for path in self._scratch:
            leftovers = sorted(p.name for p in path.glob("*.sock"))
            shutil.rmtree(path, ignore_errors=True)
            assert not leftovers, f"sockets left behind in {path}: {leftovers}"
        self._scratch.clear()


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout: float,
    what: str,
    interval: float = 0.01,
) -> float:
    """Waits until ``condition`` holds; returns the seconds it took, or fails naming ``what``."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - start
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)  # wait-ok: re-checking a condition against a deadline
