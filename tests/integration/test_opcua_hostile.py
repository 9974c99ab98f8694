"""Hostile OPC UA peers: every bad answer is a ``LinkError`` within the timeout, never a crash or
a hang, and a server that answers badly is not listed.

Each peer is a small asyncio TCP server on loopback that speaks just enough OPC UA (its answers
built with asyncua's encoder, an implementation independent of the handler's) and then misbehaves:
silence, a byte drip, garbage, a service answer to Hello, an oversized chunk, an ``ERR``, a huge array count, a deep
``DiagnosticInfo``, an answer to a request never made, a flood of chunks, a close mid-call.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import yaml
from asyncua import ua as asyncua_ua
from asyncua.ua.ua_binary import nodeid_to_binary, struct_to_binary

from akri_handler_sdk.testing import serve_for_test, wait_until
from akri_opcua import OpcuaHandler, OpcuaSettings
from akri_opcua.link import Link, LinkError

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")

# asyncua's scalar types are NewTypes plain values do not satisfy under strict mypy.
ua: Any = asyncua_ua

TIMEOUT = 0.5
#: The most a failing call may take: the timeout, and slack for a busy machine.
WITHIN = TIMEOUT + 2.0
CHANNEL_ID = 5
TOKEN_ID = 9

Script = Callable[["PeerConnection"], Awaitable[None]]


class PeerConnection:
    """One connection to a scripted peer: read the client's messages, write raw answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._sequence = 0

    async def receive(self) -> tuple[bytes, int]:
        """The next message from the client: its type and request id (0 for HEL)."""
        header = await self.reader.readexactly(8)
        message_type, _, size = struct.unpack("<3scI", header)
        payload = await self.reader.readexactly(size - 8)
        if message_type in {b"MSG", b"CLO"}:
            return message_type, struct.unpack("<I", payload[12:16])[0]
        return message_type, 0 if message_type == b"HEL" else 1

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def until_closed(self) -> None:
        while await self.reader.read(4096):
            pass

    async def handshake(self, *, lifetime_ms: int = 600_000) -> None:
        """Answers Hello and OpenSecureChannel properly (granting ``lifetime_ms``)."""
        assert (await self.receive())[0] == b"HEL"
        await self.send(message(b"ACK", struct_to_binary(ua.Acknowledge())))
        kind, request_id = await self.receive()
        assert kind == b"OPN"
        response = ua.OpenSecureChannelResponse(
            Parameters=ua.OpenSecureChannelResult(
                SecurityToken=ua.ChannelSecurityToken(
                    ChannelId=CHANNEL_ID, TokenId=TOKEN_ID, RevisedLifetime=lifetime_ms
                )
            )
        )
        security = struct_to_binary(ua.AsymmetricAlgorithmHeader())
        sequence = struct.pack("<II", self.next_sequence(), request_id)
        payload = struct.pack("<I", CHANNEL_ID) + security + sequence + struct_to_binary(response)
        await self.send(message(b"OPN", payload))

    async def answer(self, body: bytes, *, chunk: bytes = b"F", request_id: int) -> None:
        headers = struct.pack("<IIII", CHANNEL_ID, TOKEN_ID, self.next_sequence(), request_id)
        await self.send(message(b"MSG", headers + body, chunk=chunk))

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence


def message(message_type: bytes, payload: bytes, *, chunk: bytes = b"F") -> bytes:
    return message_type + chunk + struct.pack("<I", 8 + len(payload)) + payload


def find_servers_answer(*applications: Any) -> bytes:
    return bytes(struct_to_binary(ua.FindServersResponse(Servers=list(applications))))


def endpoints_answer(url: str) -> bytes:
    endpoint = ua.EndpointDescription(
        EndpointUrl=url,
        SecurityMode=ua.MessageSecurityMode.None_,
        SecurityPolicyUri="http://opcfoundation.org/UA/SecurityPolicy#None",
    )
    return bytes(struct_to_binary(ua.GetEndpointsResponse(Endpoints=[endpoint])))


def response_prefix(type_id: int) -> bytes:
    """A response's type id and a good ResponseHeader; what follows is up to the peer."""
    return nodeid_to_binary(ua.FourByteNodeId(type_id)) + struct_to_binary(ua.ResponseHeader())


@contextlib.asynccontextmanager
async def peer(script: Script) -> AsyncIterator[str]:
    """A peer running ``script`` on every connection; yields its ``opc.tcp`` URL."""
    active: set[asyncio.StreamWriter] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        active.add(writer)
        try:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                await script(PeerConnection(reader, writer))
                await PeerConnection(reader, writer).until_closed()
        finally:
            writer.close()
            active.discard(writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"opc.tcp://127.0.0.1:{port}/hostile/"
    finally:
        server.close()
        await server.wait_closed()
        for writer in list(active):
            writer.close()
        await wait_until(lambda: not active, within=5, what="the peer's connections to end")


# -- the scripts -------------------------------------------------------------------------------


async def silent(conn: PeerConnection) -> None:
    await conn.until_closed()


async def drip(conn: PeerConnection) -> None:
    await conn.receive()
    await conn.send(b"ACKF" + struct.pack("<I", 28) + b"\x00")  # 19 bytes promised, never sent
    await conn.until_closed()


async def http(conn: PeerConnection) -> None:
    await conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


async def message_for_hello(conn: PeerConnection) -> None:
    await conn.receive()
    await conn.send(message(b"MSG", struct.pack("<IIII", 0, 0, 1, 0) + bytes(20)))


async def oversized(conn: PeerConnection) -> None:
    await conn.receive()
    await conn.send(message(b"ACK", struct_to_binary(ua.Acknowledge())))
    await conn.receive()
    await conn.send(b"OPNF" + struct.pack("<I", 0x7FFFFFFF) + bytes(64))


async def error(conn: PeerConnection) -> None:
    await conn.receive()
    reason = "endpoint unknown " * 2000
    payload = struct_to_binary(ua.ErrorMessage(Error=ua.StatusCode(0x80880000), Reason=reason))
    await conn.send(message(b"ERR", payload))


async def huge_array(conn: PeerConnection) -> None:
    await conn.handshake()
    _, request_id = await conn.receive()
    body = response_prefix(425) + struct.pack("<i", 0x7FFFFFFF)
    await conn.answer(body, request_id=request_id)


async def deep_diagnostics(conn: PeerConnection) -> None:
    await conn.handshake()
    _, request_id = await conn.receive()
    body = nodeid_to_binary(ua.FourByteNodeId(425)) + struct.pack("<qII", 0, 0, 0)
    await conn.answer(body + b"\x40" * 60_000 + b"\x00", request_id=request_id)


async def wrong_request(conn: PeerConnection) -> None:
    await conn.handshake()
    await conn.receive()
    await conn.answer(find_servers_answer(), request_id=4242)


async def chunk_flood(conn: PeerConnection) -> None:
    await conn.handshake()
    _, request_id = await conn.receive()
    for _ in range(1000):
        await conn.answer(bytes(1000), chunk=b"C", request_id=request_id)


async def close_mid_call(conn: PeerConnection) -> None:
    await conn.handshake()
    await conn.receive()
    conn.writer.close()


@pytest.mark.parametrize(
    ("script", "kind", "fragment"),
    [
        (silent, "unreachable", "no answer within 0.5 s"),
        (drip, "unreachable", "no answer within 0.5 s"),
        (http, "failed", "unknown message type"),
        (message_for_hello, "failed", "MSG with request id 0"),
        (oversized, "failed", "at most 65536"),
        (error, "failed", "BadTcpEndpointUrlInvalid (0x80880000): endpoint unknown"),
        (huge_array, "failed", "at most 1000"),
        (deep_diagnostics, "failed", "nested deeper"),
        (wrong_request, "failed", "answers no request"),
        (chunk_flood, "failed", "chunks"),
        (close_mid_call, "unreachable", "connection closed by the server"),
    ],
)
async def test_a_hostile_peer_is_a_link_error_within_the_timeout(
    script: Script, kind: str, fragment: str
) -> None:
    lost = asyncio.Event()
    async with peer(script) as url:
        link = Link(url, timeout=TIMEOUT, on_lost=lost.set)
        started = time.monotonic()
        with pytest.raises(LinkError) as caught:
            await link.find_servers()
        took = time.monotonic() - started
        await link.close()
    assert caught.value.kind == kind
    assert fragment in caught.value.detail
    assert len(caught.value.detail) <= 160
    assert took < WITHIN
    assert not link.connected
    # Only a peer that ends an open channel is a lost server; the others failed their call.
    assert lost.is_set() == (script is close_mid_call)


async def test_a_peer_closing_an_idle_channel_calls_on_lost_at_once() -> None:
    async def answer_then_close(conn: PeerConnection) -> None:
        await conn.handshake()
        _, request_id = await conn.receive()
        await conn.answer(find_servers_answer(), request_id=request_id)
        conn.writer.close()

    lost = asyncio.Event()
    async with peer(answer_then_close) as url:
        link = Link(url, timeout=TIMEOUT, on_lost=lost.set)
        assert await link.find_servers() == ()
        async with asyncio.timeout(WITHIN):
            await lost.wait()
        assert not link.connected
        await link.close()


async def test_a_channel_is_replaced_before_its_token_expires() -> None:
    """A server granting a 1 ms token gets the floor (10 s): the channel is closed with
    CloseSecureChannel and a fresh one opened after 7.5 s, not on every call."""
    seen: list[bytes] = []

    async def short_tokens(conn: PeerConnection) -> None:
        await conn.handshake(lifetime_ms=1)
        seen.append(b"OPN")
        while True:
            kind, request_id = await conn.receive()
            seen.append(kind)
            if kind != b"MSG":
                return
            await conn.answer(find_servers_answer(), request_id=request_id)

    lost = asyncio.Event()
    async with peer(short_tokens) as url:
        link = Link(url, timeout=TIMEOUT, on_lost=lost.set)
        started = time.monotonic()
        async with asyncio.timeout(15):
            while seen.count(b"OPN") < 2:
                assert await link.find_servers() == ()
                await asyncio.sleep(0.25)  # wait-ok: the pace of the calls, not a condition
        replaced = time.monotonic() - started
        await wait_until(lambda: b"CLO" in seen, within=5, what="CloseSecureChannel")
        await link.close()
    assert 7.0 < replaced < 10.0
    assert seen.count(b"OPN") == 2
    assert not lost.is_set()


async def test_a_server_that_answers_garbage_is_not_listed_and_the_handler_keeps_going() -> None:
    """A scripted LDS lists two servers: one answers GetEndpoints, the other a huge array."""
    connections = 0

    async def good(conn: PeerConnection) -> None:
        await conn.handshake()
        while True:
            kind, request_id = await conn.receive()
            if kind != b"MSG":
                return
            await conn.answer(endpoints_answer(good_url), request_id=request_id)

    async def bad(conn: PeerConnection) -> None:
        nonlocal connections
        connections += 1
        await huge_array(conn)

    async def lds(conn: PeerConnection) -> None:
        await conn.handshake()
        while True:
            kind, request_id = await conn.receive()
            if kind != b"MSG":
                return
            servers = [
                ua.ApplicationDescription(
                    ApplicationUri=f"urn:{name}",
                    ApplicationName=ua.LocalizedText(name),
                    ApplicationType=ua.ApplicationType.Server,
                    DiscoveryUrls=[url],
                )
                for name, url in (("good", good_url), ("bad", bad_url))
            ]
            await conn.answer(find_servers_answer(*servers), request_id=request_id)

    settings = OpcuaSettings(refresh_interval_seconds=0.2, call_timeout_seconds=TIMEOUT)
    async with peer(good) as good_url, peer(bad) as bad_url, peer(lds) as lds_url:
        details = yaml.safe_dump(
            {"opcuaDiscoveryMethod": {"standard": {"discoveryUrls": [lds_url]}}}
        )
        async with (
            serve_for_test(OpcuaHandler(settings=settings)) as served,
            served.discover(details) as stream,
        ):
            devices = await stream.wait_for(lambda d: len(d) >= 1, within=10)
            assert [device.id for device in devices] == [good_url]
            # Later rounds ask the bad server again (and fail again): the handler keeps going.
            await wait_until(lambda: connections >= 3, within=10, what="later rounds")
