"""The asyncua edge: a held-open OPC UA secure channel to one URL, for discovery services only.

A ``Link`` opens a TCP connection, says Hello and opens a secure channel with security policy
None and no session (what ``FindServers`` and ``GetEndpoints`` need), and keeps it open between
calls, so that re-reading an LDS's list or checking that a server is alive costs one request.
When the peer closes the connection (a server process that stops) ``on_lost`` is called at once.
A call over a channel that broke since the last one is tried once more on a fresh connection;
every connect and call is bounded by ``timeout``. asyncua's messages become plain frozen values
here (``Application``, ``Endpoint``) and its errors one ``LinkError``.

This is the only module that imports asyncua; the handler imports it on the first ``Discover``, so
that an idle handler does not pay for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.uaerrors import UaError

from akri_opcua.servers import Application, ApplicationKind, Endpoint

T = TypeVar("T")

# asyncua logs every connect and disconnect at INFO through the standard library.
logging.getLogger("asyncua").setLevel(logging.WARNING)

_MODES = {
    ua.MessageSecurityMode.None_: "None",
    ua.MessageSecurityMode.Sign: "Sign",
    ua.MessageSecurityMode.SignAndEncrypt: "SignAndEncrypt",
}
_DETAIL_LIMIT = 160


class LinkError(Exception):
    """A connect or a call failed: ``kind`` is ``unreachable`` (no OPC UA exchange: refused,
    timed out, name not resolved) or ``failed`` (the server answered with an error)."""

    def __init__(self, kind: str, detail: str, *, timed_out: bool = False) -> None:
        self.kind = kind
        self.detail = detail
        #: No answer within the timeout: trying again at once would only double the wait.
        self.timed_out = timed_out
        super().__init__(f"{kind}: {detail}")


class Link:
    """One held-open secure channel (policy None, no session) to ``url``."""

    def __init__(self, url: str, *, timeout: float, on_lost: Callable[[], None]) -> None:
        self.url = url
        self.timeout = timeout
        self._on_lost = on_lost
        self._client: Any = None
        self._open = False
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def find_servers(self) -> tuple[Application, ...]:
        """``FindServers`` on the server or LDS at ``url``."""
        found = await self._call(lambda client: client.find_servers())
        return tuple(application_from(description) for description in found)

    async def endpoints(self) -> tuple[Endpoint, ...]:
        """``GetEndpoints`` on the server at ``url``: answers only while the server is alive."""
        found = await self._call(lambda client: client.get_endpoints())
        return tuple(endpoint_from(description) for description in found)

    async def close(self) -> None:
        """Closes the channel and the connection (quietly: the peer may be gone already)."""
        client, self._client = self._client, None
        if client is None:
            return
        self._closing = True
        try:
            if self._open:
                # CloseSecureChannel is sent without waiting for an answer (none comes).
                with contextlib.suppress(OSError, ConnectionError, UaError):
                    await client.close_secure_channel()
            client.disconnect_socket()
        finally:
            self._open = False
            self._closing = False

    async def _call(self, call: Callable[[Any], Awaitable[T]]) -> T:
        reused = self._client is not None
        try:
            return await self._attempt(call)
        except LinkError as err:
            if not reused or err.timed_out:
                raise
        # The channel broke since the last call (the server restarted, or closed it): once more.
        return await self._attempt(call)

    async def _attempt(self, call: Callable[[Any], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self.timeout):
                if self._client is None:
                    await self._connect()
                return await call(self._client)
        except TimeoutError:
            await self.close()
            raise LinkError(
                "unreachable", f"no answer within {self.timeout:g} s", timed_out=True
            ) from None
        except (OSError, ConnectionError) as err:
            await self.close()
            raise LinkError("unreachable", _short(err)) from None
        except (UaError, ValueError, EOFError, struct.error) as err:
            # A service fault, or a reply asyncua could not decode (or that ended too soon).
            await self.close()
            raise LinkError("failed", _short(err)) from None

    async def _connect(self) -> None:
        parts = urlsplit(self.url)
        if not parts.hostname or parts.port is None:
            raise LinkError("failed", f"{self.url} has no host or port")
        client = Client(self.url, timeout=self.timeout)
        self._client = client
        await client.connect_socket()
        protocol = client.uaclient.protocol
        if protocol is not None:
            asyncua_hook = protocol.on_connection_lost

            def lost(exc: Exception | None) -> None:
                if asyncua_hook is not None:
                    asyncua_hook(exc)
                self._lost(client)

            protocol.on_connection_lost = lost
        await client.send_hello()
        await client.open_secure_channel()
        self._open = True

    def _lost(self, client: Any) -> None:
        if self._closing or self._client is not client:
            return
        self._client = None
        self._open = False
        self._on_lost()


def application_from(description: Any) -> Application:
    """A plain ``Application`` from asyncua's ``ApplicationDescription``."""
    try:
        kind = ApplicationKind(int(description.ApplicationType))
    except ValueError:
        kind = ApplicationKind.CLIENT  # an unknown type is never reported as a server
    name = description.ApplicationName.Text if description.ApplicationName is not None else ""
    return Application(
        uri=description.ApplicationUri or "",
        product_uri=description.ProductUri or "",
        name=name or "",
        kind=kind,
        discovery_urls=tuple(url for url in (description.DiscoveryUrls or ()) if url),
    )


def endpoint_from(description: Any) -> Endpoint:
    """A plain ``Endpoint``; the policy is the part after ``#`` of its URI (``Basic256Sha256``)."""
    policy = description.SecurityPolicyUri or ""
    return Endpoint(
        url=description.EndpointUrl or "",
        security_mode=_MODES.get(description.SecurityMode, str(description.SecurityMode)),
        security_policy=policy.rsplit("#", 1)[-1],
    )


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= _DETAIL_LIMIT else f"{text[: _DETAIL_LIMIT - 3]}..."
