"""One HTTP/1.1 POST over asyncio streams: what a SOAP call to a camera needs, and no more.

No thread, no connection pool (``Connection: close``), a hard deadline on the whole exchange and a
cap on the reply size. Bodies with ``Content-Length``, chunked transfer coding or read-until-close
are understood. Only ``http://`` URLs: ONVIF device services are plain HTTP on the camera network.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlsplit

MAX_REPLY_BYTES = 1 << 20
MAX_HEADER_LINES = 100


class HttpError(Exception):
    """The exchange failed (unreachable, timed out, not HTTP); another try later may work."""


class UnsupportedUrlError(HttpError):
    """The URL is not ``http://host[:port]/path``; retrying cannot help."""


@dataclass(frozen=True)
class HttpReply:
    """A reply as zeep's ``process_reply`` reads it (``status_code``, ``headers``, ``content``)."""

    status_code: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    encoding: str | None = None


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str


def parse_target(url: str) -> Target:
    """Host, port and path of an ``http://`` URL; ``HttpError`` for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise UnsupportedUrlError(f"unsupported service URL {url!r} (only http:// is supported)")
    try:
        port = parts.port or 80
    except ValueError:
        raise UnsupportedUrlError(f"bad port in service URL {url!r}") from None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(host=parts.hostname, port=port, path=path)


def request_bytes(target: Target, body: bytes, headers: Mapping[str, str]) -> bytes:
    """The request head and body as sent."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    lines = [
        f"POST {target.path} HTTP/1.1",
        f"Host: {host}:{target.port}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def post(url: str, body: bytes, *, headers: Mapping[str, str], timeout: float) -> HttpReply:
    """POSTs ``body`` to ``url``; the whole exchange is bounded by ``timeout`` seconds."""
    target = parse_target(url)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(target.host, target.port)
            writer.write(request_bytes(target, body, headers))
            await writer.drain()
            return await _read_reply(reader)
    except TimeoutError:
        raise HttpError(f"no reply within {timeout:g} s") from None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
        raise HttpError(f"{type(err).__name__}: {err}") from None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await asyncio.wait_for(writer.wait_closed(), 0.5)


async def _read_reply(reader: asyncio.StreamReader) -> HttpReply:
    status_line = (await reader.readline()).decode("latin-1").strip()
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HttpError(f"not an HTTP reply: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        line = (await reader.readline()).decode("latin-1").strip()
        if not line:
            break
        name, _, value = line.partition(":")
        headers[name.strip().title()] = value.strip()
    else:
        raise HttpError("too many header lines")
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        content = await _read_chunked(reader)
    elif "Content-Length" in headers:
        length = int(headers["Content-Length"]) if headers["Content-Length"].isdigit() else -1
        if not 0 <= length <= MAX_REPLY_BYTES:
            raise HttpError(f"bad Content-Length {headers['Content-Length']!r}")
        content = await reader.readexactly(length)
    else:
        content = await reader.read(MAX_REPLY_BYTES + 1)
        if len(content) > MAX_REPLY_BYTES:
            raise HttpError("reply too large")
    return HttpReply(status_code=int(parts[1]), content=content, headers=MappingProxyType(headers))


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = (await reader.readline()).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise HttpError(f"bad chunk size {size_line[:20]!r}") from None
        if size == 0:
            return b"".join(chunks)
        total += size
        if total > MAX_REPLY_BYTES:
            raise HttpError("reply too large")
        chunks.append(await reader.readexactly(size))
        await reader.readline()
