"""A real browser for tests: headless Chromium (the Debian package), driven over the DevTools
protocol.

``Browser.launch()`` starts ``chromium`` headless with a throw-away profile, as root
(``--no-sandbox``), with every background service that would reach out to the network turned off,
and a DevTools port it picks itself (read from ``DevToolsActivePort`` in the profile). ``Page``
talks to one tab over its websocket (aiohttp): navigate, evaluate JavaScript, take a screenshot
(``Page.captureScreenshot``, PNG). ``close()`` ends the browser (SIGTERM, then SIGKILL after a
deadline) and removes the profile. No browser is downloaded: a missing ``chromium`` fails fast
naming the package.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.processes import wait_for

WIDTH, HEIGHT = 1400, 900
START_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0
STOP_DEADLINE = 5.0
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # tests run as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--no-pings",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    f"--window-size={WIDTH},{HEIGHT}",
)


class BrowserError(RuntimeError):
    """The browser could not be started, or a DevTools call failed."""


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    raise BrowserError("no chromium: install the Debian package (make setup does)")


@dataclass
class Page:
    """One tab, over its DevTools websocket."""

    _socket: aiohttp.ClientWebSocketResponse
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self._socket.send_json({"id": call_id, "method": method, "params": params})
        async with asyncio.timeout(CALL_TIMEOUT):
            while True:
                message = await self._socket.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise BrowserError(f"{method}: the DevTools socket closed ({message.type!r})")
                answer = json.loads(message.data)
                if answer.get("id") != call_id:
                    continue  # an event, or an answer nobody waits for any more
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    async def open(self, url: str, *, timeout: float = 20.0) -> None:
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )
        await self.call("Page.navigate", url=url)

        async def loaded() -> bool:
            return bool(await self.evaluate("document.readyState === 'complete'"))

        await wait_for(loaded, timeout=timeout, what=f"{url} loaded", interval=0.1)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"evaluate: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    async def screenshot(self) -> bytes:
        """The visible page as PNG."""
        result = await self.call("Page.captureScreenshot", format="png")
        return base64.b64decode(result["data"])


@dataclass
class Browser:
    process: asyncio.subprocess.Process
    profile: Path
    port: int
    _session: aiohttp.ClientSession
    _sockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)

    @classmethod
    async def launch(cls, log: Path) -> Browser:
        profile = Path(tempfile.mkdtemp(prefix="akri-chromium-"))
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                chromium_binary(),
                *FLAGS,
                f"--user-data-dir={profile}",
                "about:blank",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,  # its own process group: its helpers end with it
            )
        port_file = profile / "DevToolsActivePort"
        session = aiohttp.ClientSession()
        browser = cls(process, profile, 0, session)
        try:

            def ready() -> bool:
                _running(process, log)
                text = port_file.read_text() if port_file.exists() else ""
                return text.count("\n") >= 1 and text.split("\n")[0].isdigit()

            await wait_for(ready, timeout=START_TIMEOUT, what="chromium's DevTools port")
            browser.port = int(port_file.read_text().split("\n")[0])
        except BaseException:
            await browser.close()
            raise
        return browser

    async def page(self) -> Page:
        """The first tab (the one opened on about:blank)."""
        async with asyncio.timeout(CALL_TIMEOUT):
            async with self._session.get(f"http://127.0.0.1:{self.port}/json/list") as response:
                targets = await response.json(content_type=None)
        tab = next((t for t in targets if t.get("type") == "page"), None)
        if tab is None:
            raise BrowserError(f"no tab among {[t.get('type') for t in targets]}")
        socket = await self._session.ws_connect(
            tab["webSocketDebuggerUrl"], max_msg_size=64 * 1024 * 1024
        )
        self._sockets.append(socket)
        page = Page(socket)
        await page.call("Page.enable")
        return page

    async def close(self) -> None:
        for socket in self._sockets:
            with contextlib.suppress(Exception):
                await socket.close()
        await self._session.close()
        group = self.process.pid  # the session (and group) it leads: chromium and its helpers
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), STOP_DEADLINE)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # helpers that outlived the browser
        await self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def _running(process: asyncio.subprocess.Process, log: Path) -> None:
    if process.returncode is not None:
        raise BrowserError(f"chromium exited {process.returncode}; see {log}")


@contextlib.asynccontextmanager
async def browser(log: Path) -> AsyncIterator[Browser]:
    started = await Browser.launch(log)
    try:
        yield started
    finally:
        await started.close()


TILES_JS = """
Array.from(document.querySelectorAll('figure.tile')).map(tile => {
  const img = tile.querySelector('img');
  const box = img.getBoundingClientRect();
  return {
    key: tile.dataset.key,
    camera: tile.querySelector('.camera').textContent,
    label: tile.querySelector('.label').textContent,
    nodes: tile.querySelector('.nodes').textContent,
    status: tile.querySelector('.status').textContent,
    loaded: img.complete && img.naturalWidth > 0,
    x: Math.round(box.x), y: Math.round(box.y),
    width: Math.round(box.width), height: Math.round(box.height),
  };
})
"""


async def tiles(page: Page) -> list[dict[str, Any]]:
    """The tiles the page shows: key, camera, nodes, status, whether a frame is shown, and where."""
    found: list[dict[str, Any]] = await page.evaluate(TILES_JS)
    return found
