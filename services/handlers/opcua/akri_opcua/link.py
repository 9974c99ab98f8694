"""The OPC UA client edge: a held-open OPC UA secure channel to one URL, for discovery services only.

A ``Link`` opens a TCP connection, says Hello and opens a secure channel with security policy
None and no session (what ``FindServers`` and ``GetEndpoints`` need), and keeps it open between
calls, so that re-reading an LDS's list or checking that a server is alive costs one request.
A reader task per connection reads every message; when the peer closes an open channel's
connection (a server process that stops, or one that says ``ERR`` and hangs up) ``on_lost`` is
called at once. A call over a channel that broke since the last one is tried once more on a fresh
connection; every connect and call is bounded by ``timeout``. A channel whose security token is
three quarters through its lifetime is replaced by a fresh one before the next call (no renewal).

The wire format is ``binary`` (standard library only, bounded against hostile peers); its
messages become plain frozen values here (``Application``, ``Endpoint``) and every failure one
``LinkError``. The handler does not import asyncua, which alone would take more memory than
upstream's limit for a whole discovery handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

from akri_opcua import binary
from akri_opcua.servers import Application, ApplicationKind, Endpoint

T = TypeVar("T")

_MODES = {1: "None", 2: "Sign", 3: "SignAndEncrypt"}
_DETAIL_LIMIT = 160
#: The token lifetime asked for, and the share of the granted one after which a fresh channel
#: replaces the held one.
_REQUESTED_LIFETIME_MS = 3_600_000
_REPLACE_AFTER = 0.75
#: The shortest granted lifetime honoured (a server granting less is treated as granting this).
_MIN_LIFETIME_MS = 10_000
#: How long closing a connection may wait for its buffered bytes to go out.
_CLOSE_WITHIN_SECONDS = 1.0
_HELLO_KEY = 0


class LinkError(Exception):
    """A connect or a call failed: ``kind`` is ``unreachable`` (no OPC UA exchange: refused,
    timed out, name not resolved) or ``failed`` (the server answered with an error, or with
    something that is not OPC UA)."""

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
        self._channel: _Channel | None = None
        self._opening = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._channel is not None

    async def find_servers(self) -> tuple[Application, ...]:
        """``FindServers`` on the server or LDS at ``url``."""
        found = await self._call(lambda channel: channel.find_servers())
        return tuple(application_from(description) for description in found)

    async def endpoints(self) -> tuple[Endpoint, ...]:
        """``GetEndpoints`` on the server at ``url``: answers only while the server is alive."""
        found = await self._call(lambda channel: channel.endpoints())
        return tuple(endpoint_from(description) for description in found)

    async def close(self) -> None:
        """Closes the channel and the connection (quietly: the peer may be gone already)."""
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()

    async def _call(self, call: Callable[[_Channel], Awaitable[T]]) -> T:
        reused = self._channel is not None
        try:
            return await self._attempt(call)
        except LinkError as err:
            if not reused or err.timed_out:
                raise
        # The channel broke since the last call (the server restarted, or closed it): once more.
        return await self._attempt(call)

    async def _attempt(self, call: Callable[[_Channel], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self.timeout):
                return await call(await self._open())
        except TimeoutError:
            await self.close()
            raise LinkError(
                "unreachable", f"no answer within {self.timeout:g} s", timed_out=True
            ) from None
        except OSError as err:  # refused, reset, closed by the peer, name not resolved
            await self.close()
            raise LinkError("unreachable", _short(err)) from None
        except (binary.ProtocolError, ValueError) as err:
            # An error answer, one that is not OPC UA, or a host name that is no name (IDNA).
            await self.close()
            raise LinkError("failed", _short(err)) from None

    async def _open(self) -> _Channel:
        async with self._opening:
            channel = self._channel
            if channel is not None and channel.expired():
                self._channel = None
                await channel.close()
                channel = None
            if channel is None:
                try:
                    parts = urlsplit(self.url)
                    host, port = parts.hostname, parts.port
                except ValueError:
                    host = port = None
                if not host or port is None:
                    raise binary.ProtocolError(f"{self.url} has no host or port")
                reader, writer = await asyncio.open_connection(host, port)
                channel = _Channel(
                    self.url, reader, writer, timeout=self.timeout, on_gone=self._gone
                )
                self._channel = channel
                await channel.open()
            return channel

    def _gone(self, channel: _Channel, *, lost: bool) -> None:
        """The reader of ``channel`` stopped: the peer closed (``lost``) or sent garbage."""
        if self._channel is not channel:
            return
        self._channel = None
        if lost:
            self._on_lost()


class _Gone(Protocol):
    def __call__(self, channel: _Channel, *, lost: bool) -> None: ...


class _Channel:
    """One TCP connection and its secure channel; a reader task hands answers to their calls."""

    def __init__(
        self,
        url: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        timeout: float,
        on_gone: _Gone,
    ) -> None:
        self._url = url
        self._reader = reader
        self._writer = writer
        self._timeout_ms = max(1, int(timeout * 1000))
        self._on_gone = on_gone
        self._reassembly = binary.Reassembly()
        self._waiting: dict[int, asyncio.Future[binary.Message]] = {}
        self._failure: Exception | None = None
        self._sequence = 0
        self._request_id = 0
        self._acknowledged = False
        self._opened: binary.OpenedChannel | None = None
        self._peer_buffer = binary.MIN_BUFFER_SIZE
        self._replace_at = float("inf")
        self._task = asyncio.create_task(self._read(), name="opcua-link-reader")

    def expired(self) -> bool:
        return time.monotonic() >= self._replace_at

    async def open(self) -> None:
        """Hello / Acknowledge, then OpenSecureChannel (policy None)."""
        ack = await self._exchange(_HELLO_KEY, binary.hello(self._url))
        if ack.message_type != b"ACK":
            raise binary.ProtocolError(f"Hello answered by {_kind(ack)}")
        self._peer_buffer = binary.decode_acknowledge(ack.body).receive_buffer_size
        self._acknowledged = True
        request_id = self._next_request_id()
        request = binary.open_request(
            sequence=self._next_sequence(),
            request_id=request_id,
            handle=request_id,
            timeout_ms=self._timeout_ms,
            lifetime_ms=_REQUESTED_LIFETIME_MS,
            now=time.time(),
        )
        answer = await self._exchange(request_id, request)
        if answer.message_type != b"OPN":
            raise binary.ProtocolError(f"OpenSecureChannel answered by {_kind(answer)}")
        opened = binary.decode_open_response(answer.body)
        if opened.channel_id != answer.channel_id:
            raise binary.ProtocolError("OpenSecureChannel answer names two channel ids")
        self._reassembly.channel_id = opened.channel_id
        self._reassembly.token_id = opened.token_id
        self._opened = opened
        lifetime_ms = min(max(opened.revised_lifetime_ms, _MIN_LIFETIME_MS), _REQUESTED_LIFETIME_MS)
        self._replace_at = time.monotonic() + lifetime_ms / 1000 * _REPLACE_AFTER

    async def find_servers(self) -> tuple[binary.ApplicationDescription, ...]:
        return binary.decode_find_servers(await self._service(binary.find_servers_request))

    async def endpoints(self) -> tuple[binary.EndpointDescription, ...]:
        return binary.decode_endpoints(await self._service(binary.get_endpoints_request))

    async def close(self) -> None:
        """CloseSecureChannel (no answer comes), then the connection; quiet about a dead peer."""
        if self._opened is not None and self._failure is None:
            request_id = self._next_request_id()
            with contextlib.suppress(OSError, RuntimeError):
                self._writer.write(
                    binary.close_request(
                        channel_id=self._opened.channel_id,
                        token_id=self._opened.token_id,
                        sequence=self._next_sequence(),
                        request_id=request_id,
                        handle=request_id,
                        now=time.time(),
                    )
                )
        self._task.cancel()
        await asyncio.wait([self._task])
        self._fail(ConnectionError("link closed"))
        self._writer.close()
        try:
            async with asyncio.timeout(_CLOSE_WITHIN_SECONDS):
                await self._writer.wait_closed()
        except TimeoutError:
            self._writer.transport.abort()
        except OSError:
            pass

    async def _service(self, encode: Callable[..., bytes]) -> bytes:
        opened = self._opened
        if opened is None:
            raise binary.ProtocolError("no secure channel")
        request_id = self._next_request_id()
        request = encode(
            self._url,
            channel_id=opened.channel_id,
            token_id=opened.token_id,
            sequence=self._next_sequence(),
            request_id=request_id,
            handle=request_id,
            timeout_ms=self._timeout_ms,
            now=time.time(),
        )
        answer = await self._exchange(request_id, request)
        if answer.message_type != b"MSG":
            raise binary.ProtocolError(f"a service call answered by {_kind(answer)}")
        return answer.body

    async def _exchange(self, key: int, request: bytes) -> binary.Message:
        if self._failure is not None:
            raise self._failure
        if len(request) > self._peer_buffer:
            raise binary.ProtocolError(f"request of {len(request)} bytes too big for the server")
        future: asyncio.Future[binary.Message] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        try:
            self._writer.write(request)
            await self._writer.drain()
            return await future
        finally:
            self._waiting.pop(key, None)

    async def _read(self) -> None:
        """Reads messages until the connection ends or a message is not acceptable."""
        failure: Exception
        lost = True
        try:
            while True:
                header = binary.parse_header(await self._reader.readexactly(binary.HEADER_SIZE))
                payload = await self._reader.readexactly(header.size - binary.HEADER_SIZE)
                message = self._reassembly.add(header, payload)
                if message is None:
                    continue
                if message.message_type == b"ERR":
                    failure = binary.decode_error(message.body)
                    break
                self._deliver(message)
        except (asyncio.IncompleteReadError, OSError):
            failure = ConnectionError("connection closed by the server")
        except binary.ProtocolError as err:
            failure, lost = err, False
        self._fail(failure)
        self._writer.close()
        # Lost is an open channel the peer ended: one that failed its handshake fails its call.
        self._on_gone(self, lost=lost and self._opened is not None)

    def _deliver(self, message: binary.Message) -> None:
        key = _HELLO_KEY if message.message_type == b"ACK" else message.request_id
        if message.message_type != b"ACK" and key == _HELLO_KEY:
            raise binary.ProtocolError(f"{_kind(message)} with request id 0")
        future = self._waiting.get(key)
        if future is None:
            late = (key == _HELLO_KEY and self._acknowledged) or 0 < key <= self._request_id
            if late:
                return  # the answer to a call that gave up waiting
            raise binary.ProtocolError(f"{_kind(message)} answers no request")
        if not future.done():
            future.set_result(message)

    def _fail(self, failure: Exception) -> None:
        if self._failure is None:
            self._failure = failure
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(failure)

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def _next_request_id(self) -> int:
        self._request_id += 1
        return self._request_id


def application_from(description: binary.ApplicationDescription) -> Application:
    """A plain ``Application`` from a decoded ``ApplicationDescription``."""
    try:
        kind = ApplicationKind(description.application_type)
    except ValueError:
        kind = ApplicationKind.CLIENT  # an unknown type is never reported as a server
    return Application(
        uri=description.application_uri,
        product_uri=description.product_uri,
        name=description.application_name,
        kind=kind,
        discovery_urls=tuple(url for url in description.discovery_urls if url),
    )


def endpoint_from(description: binary.EndpointDescription) -> Endpoint:
    """A plain ``Endpoint``; the policy is the part after ``#`` of its URI (``Basic256Sha256``)."""
    mode = description.security_mode
    return Endpoint(
        url=description.endpoint_url,
        security_mode=_MODES.get(mode, str(mode)),
        security_policy=description.security_policy_uri.rsplit("#", 1)[-1],
    )


def _kind(message: binary.Message) -> str:
    return message.message_type.decode("ascii", errors="replace")


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= _DETAIL_LIMIT else f"{text[: _DETAIL_LIMIT - 3]}..."
