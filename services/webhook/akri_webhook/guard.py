"""Connection limits of the HTTPS server, so that no client can hold it for the others.

``GuardedSite`` is aiohttp's ``TCPSite`` with three bounds: a TLS handshake must finish within
``request_timeout`` seconds; at most ``max_connections`` connections are served at once (one past
that is closed as soon as it is accepted, counted, and logged at most once per
``LOG_EVERY_SECONDS``); and the server's keep-alive timeout, which aiohttp also applies to a
connection whose next request's headers have not all arrived, is ``request_timeout`` (set on the
runner: see ``runner_options``). Bodies are bounded by the handler itself.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from aiohttp import web

from akri_common.prometheus import REGISTRY

log = structlog.get_logger(__name__)

LOG_EVERY_SECONDS = 10.0
REFUSED = REGISTRY.counter(
    "akri_webhook_connections_refused", "Connections closed at once: too many were open"
)


def runner_options(*, request_timeout: float) -> dict[str, Any]:
    """``AppRunner`` keyword arguments: a slow or idle client is cut after ``request_timeout``."""
    return {"keepalive_timeout": request_timeout, "max_line_size": 8190, "max_field_size": 8190}


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.abort()  # type: ignore[attr-defined]


class GuardedSite(web.TCPSite):
    """A ``TCPSite`` that caps its connections and bounds TLS handshakes."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        ssl_context: Any,
        max_connections: int,
        request_timeout: float,
    ) -> None:
        super().__init__(runner, host, port, ssl_context=ssl_context)
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        self.refused = 0
        self._last_logged = 0.0

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        served = self._runner.server
        assert served is not None

        def protocol() -> asyncio.BaseProtocol:
            if len(served.connections) >= self.max_connections:
                self._refuse()
                return _Refused()
            return served()

        self._server = await loop.create_server(
            protocol,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            ssl_handshake_timeout=self.request_timeout if self._ssl_context else None,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port

    def _refuse(self) -> None:
        self.refused += 1
        REFUSED.inc()
        now = time.monotonic()
        if now - self._last_logged >= LOG_EVERY_SECONDS:
            self._last_logged = now
            log.warning(
                "connections_refused",
                open=self.max_connections,
                refused_so_far=self.refused,
                limit_setting="WEBHOOK_MAX_CONNECTIONS",
            )
