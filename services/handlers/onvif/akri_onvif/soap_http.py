"""SOAP over HTTP to cameras: a small HTTP/1.1 client on asyncio streams, every reply guarded.

The handler's own client, on the standard library only, so that a discovery handler stays within
upstream Akri's 24 MiB (an HTTP library would cost a third of that at import). It guarantees: a
strict reply parser (``http_wire``: status and header lines within ``MAX_LINE_BYTES`` and
``MAX_FIELD_BYTES``, a status code or ``Content-Length`` in non-ASCII digits, an obs-fold or a
malformed chunk is a parse error, not a crash), HTTP Digest authentication (``digest``: RFC 7616,
MD5, SHA-256 and their ``-sess`` forms, origin-scoped, preemptive once challenged), and a
timeout on the whole exchange, Digest retry included. Also: a cap on the reply body
(``MAX_REPLY_BYTES``, checked while reading, so an endless reply costs nothing), no content
decoding (no compression bombs), no redirects, no cookies, no proxies from the environment, a
resolver that refuses host names resolving only to refused addresses (``xaddrs``), at most
``max_connections`` connections at once and one connection per request (``Connection: close``:
cameras' keep-alive is often broken; a LAN connect is cheap). Every failure becomes an
``HttpError``; nothing else escapes ``post``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Self

from akri_onvif.digest import DigestAuth
from akri_onvif.http_wire import (
    MAX_FIELD_BYTES,
    MAX_LINE_BYTES,
    MalformedReplyError,
    ReplyParser,
    Target,
    WireReply,
    request_head,
    request_target,
)
from akri_onvif.xaddrs import address_refusal

__all__ = [
    "MAX_FIELD_BYTES",
    "MAX_LINE_BYTES",
    "MAX_REPLY_BYTES",
    "BadReplyError",
    "HttpError",
    "HttpReply",
    "RefusedAddressError",
    "SoapHttp",
    "UnsupportedUrlError",
]

MAX_REPLY_BYTES = 1 << 20
_READ_CHUNK = 1 << 16
_MAX_ADDRESSES = 8


class HttpError(Exception):
    """The exchange failed (unreachable, timed out, not HTTP, too large); a later try may work."""


class UnsupportedUrlError(HttpError):
    """The URL is not ``http://host[:port]/path``; retrying cannot help."""


class BadReplyError(HttpError):
    """The peer answered, but not with an acceptable HTTP reply (a parse error, too large)."""


class RefusedAddressError(HttpError):
    """The host name resolved only to refused addresses (loopback, link-local, ...)."""


@dataclass(frozen=True)
class HttpReply:
    """One HTTP reply: ``status_code``, ``content`` and ``headers`` (names Title-Cased, values cut)."""

    status_code: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    encoding: str | None = None

    @property
    def digest_challenge(self) -> bool:
        """Whether this is a 401 offering HTTP Digest authentication."""
        challenge = self.headers.get("Www-Authenticate", "")
        return self.status_code == 401 and challenge.strip().lower().startswith("digest")


class SoapHttp:
    """Opened with ``async with``; ``post`` sends one SOAP request and returns the guarded reply."""

    def __init__(self, *, allow_local: bool = False, max_connections: int = 32) -> None:
        self._allow_local = allow_local
        self._max_connections = max_connections
        self._slots: asyncio.Semaphore | None = None

    async def __aenter__(self) -> Self:
        self._slots = asyncio.Semaphore(self._max_connections)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._slots = None

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str],
        timeout: float,
        digest: DigestAuth | None = None,
    ) -> HttpReply:
        """POSTs ``body`` to ``url`` within ``timeout`` seconds. ``digest`` answers a Digest
        challenge (and is sent preemptively once challenged); without it a 401 is returned."""
        if self._slots is None:
            raise RuntimeError("SoapHttp used outside its async with block")
        target = request_target(url)
        if target is None:
            raise UnsupportedUrlError(f"unsupported service URL {url[:200]!r} (only http://)")
        try:
            async with asyncio.timeout(timeout):
                reply = await self._authenticated(target, body, headers, digest)
        except TimeoutError:
            raise HttpError(f"no reply within {timeout:g} s") from None
        except MalformedReplyError as err:
            raise BadReplyError(_bounded(err)) from None
        return HttpReply(
            status_code=reply.status,
            content=reply.body,
            headers=MappingProxyType({name.title(): value[:1000] for name, value in reply.fields}),
        )

    async def _authenticated(
        self, target: Target, body: bytes, headers: Mapping[str, str], digest: DigestAuth | None
    ) -> WireReply:
        """One exchange, and with ``digest`` one more when the first is answered by a Digest
        challenge this credential can meet (a later challenge is kept for the next request)."""
        origin = target.origin
        authorization = (
            None if digest is None else digest.authorization(origin, "POST", target.path, body)
        )
        reply = await self._exchange(target, body, headers, authorization)
        if digest is None or reply.status != 401:
            return reply
        if not digest.challenged(origin, reply.values("WWW-Authenticate")):
            return reply
        authorization = digest.authorization(origin, "POST", target.path, body)
        reply = await self._exchange(target, body, headers, authorization)
        if reply.status == 401:
            digest.challenged(origin, reply.values("WWW-Authenticate"))
        return reply

    async def _exchange(
        self, target: Target, body: bytes, headers: Mapping[str, str], authorization: str | None
    ) -> WireReply:
        try:
            head = request_head(
                target, headers, content_length=len(body), authorization=authorization
            )
        except ValueError as err:
            raise HttpError(f"refusing to send: {_bounded(err)}") from None
        assert self._slots is not None
        async with self._slots:
            reader, writer = await self._connect(target)
            try:
                writer.write(head + body)
                await writer.drain()
                return await _read_reply(reader)
            except OSError as err:
                raise HttpError(f"cannot connect: {_bounded(err)}") from None
            finally:
                writer.transport.abort()

    async def _connect(self, target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the first allowed address of ``target`` that accepts one."""
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(
                target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (OSError, UnicodeError, ValueError) as err:
            raise HttpError(f"cannot connect: {_bounded(err)}") from None
        allowed = [
            (family, address)
            for family, _, _, _, address in found
            if family in (socket.AF_INET, socket.AF_INET6)
            and address_refusal(str(address[0]), allow_local=self._allow_local) is None
        ]
        if not allowed:
            raise RefusedAddressError(f"{target.host[:100]} resolves only to refused addresses")
        failure: OSError | None = None
        for family, address in allowed[:_MAX_ADDRESSES]:
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError as err:
                failure = err
                continue
            try:
                sock.setblocking(False)
                await loop.sock_connect(sock, address)
                return await asyncio.open_connection(sock=sock, limit=_READ_CHUNK)
            except OSError as err:
                sock.close()
                failure = err
            except BaseException:
                sock.close()
                raise
        raise HttpError(f"cannot connect: {_bounded(failure)}")


async def _read_reply(reader: asyncio.StreamReader) -> WireReply:
    parser = ReplyParser(max_body=MAX_REPLY_BYTES)
    while not parser.done:
        data = await reader.read(_READ_CHUNK)
        if not data:
            if parser.received == 0:
                raise HttpError("connection closed without a reply")
            parser.feed_eof()
        else:
            parser.feed(data)
    return parser.reply


def _bounded(error: object) -> str:
    return " ".join(str(error).split())[:200]
