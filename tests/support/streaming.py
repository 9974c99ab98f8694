"""The video streaming app as a real process in tests: start it, wait until it serves, read
``/camera_list``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.support.agents import free_port
from tests.support.processes import Child, ProcessGroup, wait_for


@dataclass
class StreamingApp:
    child: Child
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def get_json(self, path: str) -> Any:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(self.url + path) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def cameras(self) -> list[dict[str, Any]]:
        listing = await self.get_json("/camera_list")
        cameras: list[dict[str, Any]] = listing["cameras"]
        return cameras


async def start_app(processes: ProcessGroup, env: Mapping[str, str]) -> StreamingApp:
    port = free_port()
    child = await processes.start(
        "akri_streaming",
        env={
            "STREAMING_HOST": "127.0.0.1",
            "STREAMING_PORT": str(port),
            "LOG_FORMAT": "json",
            **env,
        },
        name="streaming-app",
    )
    app = StreamingApp(child, port)

    async def serving() -> bool:
        if child.proc.returncode is not None:
            raise AssertionError(f"the app exited {child.proc.returncode}:\n{child.log()[-3000:]}")
        try:
            await app.get_json("/camera_list")
        except (aiohttp.ClientError, OSError):
            return False
        return True

    await wait_for(serving, timeout=20, what="the app serving", interval=0.1)
    return app
