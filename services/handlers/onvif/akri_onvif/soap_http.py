"""SOAP over HTTP to cameras, through aiohttp: one session per ``Discover``, every reply guarded.

aiohttp (already the project's HTTP library, for the webhook) brings what a hand-written client
lacked: a strict response parser with header-line and field-size limits (an over-long header line,
a status code or ``Content-Length`` in non-ASCII digits is a parse error, not a crash), HTTP Digest
authentication (RFC 7616: MD5, SHA-256 and their ``-sess`` forms, origin-scoped, preemptive once
challenged) as ``DigestAuthMiddleware``, and timeouts on the whole exchange. Added here: a cap on
the reply body (``MAX_REPLY_BYTES``, checked while reading, so an endless reply costs nothing),
no content decoding (no compression bombs), no redirects, no cookies, no proxies from the
environment, and a resolver that refuses host names resolving to refused addresses (``xaddrs``).
Every failure becomes an ``HttpError``; nothing else escapes ``post``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Self

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from akri_onvif.xaddrs import address_refusal, xaddr_host

MAX_REPLY_BYTES = 1 << 20
MAX_LINE_BYTES = 8190
MAX_FIELD_BYTES = 8190
_READ_CHUNK = 1 << 16


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
    """A reply as zeep's ``process_reply`` reads it (``status_code``, ``headers``, ``content``)."""

    status_code: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    encoding: str | None = None

    @property
    def digest_challenge(self) -> bool:
        """Whether this is a 401 offering HTTP Digest authentication."""
        challenge = self.headers.get("Www-Authenticate", "")
        return self.status_code == 401 and challenge.strip().lower().startswith("digest")


class GuardedResolver(AbstractResolver):
    """The system resolver, keeping only addresses the XAddr policy allows."""

    def __init__(self, *, allow_local: bool) -> None:
        self._resolver = ThreadedResolver()
        self._allow_local = allow_local

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        allowed = [
            entry
            for entry in found
            if address_refusal(entry["host"], allow_local=self._allow_local) is None
        ]
        if not allowed:
            raise RefusedAddressError(f"{host[:100]} resolves only to refused addresses")
        return allowed

    async def close(self) -> None:
        await self._resolver.close()


class SoapHttp:
    """Opened with ``async with``; ``post`` sends one SOAP request and returns the guarded reply."""

    def __init__(self, *, allow_local: bool = False, max_connections: int = 32) -> None:
        self._allow_local = allow_local
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            force_close=True,  # cameras' keep-alive is often broken; a LAN connect is cheap
            resolver=GuardedResolver(allow_local=self._allow_local),
            ttl_dns_cache=60,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            max_line_size=MAX_LINE_BYTES,
            max_field_size=MAX_FIELD_BYTES,
            skip_auto_headers=("Accept-Encoding",),
            raise_for_status=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str],
        timeout: float,
        digest: Any = None,
    ) -> HttpReply:
        """POSTs ``body`` to ``url`` within ``timeout`` seconds. ``digest`` (a
        ``DigestAuthMiddleware``) answers a Digest challenge; without it a 401 is returned."""
        if self._session is None:
            raise RuntimeError("SoapHttp used outside its async with block")
        if xaddr_host(url) is None:
            raise UnsupportedUrlError(f"unsupported service URL {url[:200]!r} (only http://)")
        middlewares = () if digest is None else (digest,)
        try:
            async with asyncio.timeout(timeout):
                async with self._session.post(
                    url,
                    data=body,
                    headers=dict(headers),
                    allow_redirects=False,
                    middlewares=middlewares,
                ) as response:
                    content = await _bounded_body(response)
                    return HttpReply(
                        status_code=response.status,
                        content=content,
                        headers=MappingProxyType(
                            {name.title(): value[:1000] for name, value in response.headers.items()}
                        ),
                    )
        except TimeoutError:
            raise HttpError(f"no reply within {timeout:g} s") from None
        except HttpError:
            raise
        except aiohttp.ClientConnectorError as err:
            cause = err.os_error
            if isinstance(cause, RefusedAddressError):
                raise RefusedAddressError(str(cause)) from None
            raise HttpError(f"cannot connect: {_bounded(cause)}") from None
        except (aiohttp.ClientResponseError, aiohttp.ClientPayloadError) as err:
            raise BadReplyError(f"{type(err).__name__}: {_bounded(err)}") from None
        except (aiohttp.ClientError, OSError, ValueError, UnicodeError, LookupError) as err:
            raise HttpError(f"{type(err).__name__}: {_bounded(err)}") from None


async def _bounded_body(response: aiohttp.ClientResponse) -> bytes:
    length = response.content_length
    if length is not None and length > MAX_REPLY_BYTES:
        raise BadReplyError(f"reply of {length} bytes (more than {MAX_REPLY_BYTES})")
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        total += len(chunk)
        if total > MAX_REPLY_BYTES:
            raise BadReplyError(f"reply of more than {MAX_REPLY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _bounded(error: object) -> str:
    return " ".join(str(error).split())[:200]
