"""A minimal HTTP/1.1 JSON responder on asyncio streams, and the run loop every broker shares.

A broker answers ``GET /`` (and ``GET /healthz``) with a JSON document its ``report`` function
builds at request time; anything else is 404/405. Requests are bounded (header size and a read
deadline), one connection never blocks another, and SIGTERM or SIGINT stops the server: ``run``
returns once it has closed, so the process exits 0.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)

READ_DEADLINE = 5.0
MAX_HEADER_BYTES = 8192

Report = Callable[[], dict[str, Any]]


def _response(status: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body, sort_keys=True).encode() + b"\n"
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + payload


def answer(request_line: str, report: Report) -> bytes:
    """The response to one request line (pure apart from calling ``report``)."""
    parts = request_line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return _response("400 Bad Request", {"error": "malformed request line"})
    method, target = parts[0], parts[1].split("?", 1)[0]
    if method not in ("GET", "HEAD"):
        return _response("405 Method Not Allowed", {"error": f"method {method[:16]!r}"})
    if target == "/healthz":
        return _response("200 OK", {"ok": True})
    if target != "/":
        return _response("404 Not Found", {"error": f"no such path {target[:64]!r}"})
    return _response("200 OK", report())


async def _serve_one(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, report: Report
) -> None:
    try:
        async with asyncio.timeout(READ_DEADLINE):
            head = await reader.readuntil(b"\r\n\r\n")
        writer.write(answer(head.split(b"\r\n", 1)[0].decode("latin-1"), report))
        await writer.drain()
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass  # a client that sends no complete request (or leaves) gets no answer
    finally:
        writer.close()


async def serve_until_signalled(*, port: int, report: Report, name: str) -> None:
    """Serves ``report`` on 0.0.0.0:``port`` until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await asyncio.start_server(
        lambda r, w: _serve_one(r, w, report),
        host="0.0.0.0",  # noqa: S104 - a broker serves its pod's network
        port=port,
        limit=MAX_HEADER_BYTES,
    )
    bound = server.sockets[0].getsockname()[1]
    log.info("broker_serving", broker=name, port=bound)
    async with server:
        await stop.wait()
    log.info("broker_stopped", broker=name, reason="signal")
