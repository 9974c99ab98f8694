"""The ``/metrics`` (Prometheus text format) and ``/healthz`` endpoints every service serves.

``/metrics`` serves the exposition a process passes, ``akri_common.prometheus.exposition()``: the
default registry (the agent, controller and webhook, with the ``process_*`` figures) or a registry
of the process's own (the ONVIF handler's one counter). The text format is the project's own
(``akri_common.exposition``): no process imports prometheus_client.
A small asyncio HTTP/1.1 server, so that no thread is started for it; it answers GET only and
closes each connection after one response.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

REQUEST_TIMEOUT = 5.0


class MetricsServer:
    def __init__(
        self,
        *,
        port: int,
        host: str = "0.0.0.0",  # noqa: S104 (scraped from outside the pod)
        exposition: Callable[[], tuple[str, bytes]],
        healthy: Callable[[], bool] = lambda: True,
    ) -> None:
        """``/metrics`` serves ``exposition()``: its content type and body."""
        self.host = host
        self.port = port
        self._healthy = healthy
        self._exposition = exposition
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics_serving", port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
            method, _, rest = request.decode("latin-1").partition(" ")
            path = rest.partition(" ")[0].partition("?")[0]
            status, content_type, body = self._respond(method, path)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await asyncio.wait_for(writer.drain(), REQUEST_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), REQUEST_TIMEOUT)

    def _respond(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method != "GET":
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path == "/metrics":
            content_type, body = self._exposition()
            return "200 OK", content_type, body
        if path in ("/healthz", "/readyz"):
            if self._healthy():
                return "200 OK", "text/plain", b"ok\n"
            return "503 Service Unavailable", "text/plain", b"not ready\n"
        return "404 Not Found", "text/plain", b"not found\n"
