"""The ONVIF handler's HTTP client against raw TCP servers on loopback: hostile replies end as an
``HttpError`` within their bound, HTTP Digest is answered once per challenge and preemptively
afterwards, only to the origin it was for, and at most ``max_connections`` connections are open.
And the handler's discovery path does not load aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from akri_handler_sdk.testing import leftover_tasks_settled, wait_until
from akri_onvif.digest import DigestAuth
from akri_onvif.soap_http import (
    MAX_REPLY_BYTES,
    BadReplyError,
    HttpError,
    RefusedAddressError,
    SoapHttp,
    UnsupportedUrlError,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
HEADERS = {"Content-Type": 'application/soap+xml; charset=utf-8; action="urn:x"'}
BODY = b"<Envelope/>"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@contextlib.asynccontextmanager
async def serve(handler: Handler, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """A raw server on loopback running ``handler`` per connection; yields its URL. Every
    connection task is ended on exit."""
    tasks: set[asyncio.Task[None]] = set()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(connection, host, 0)
    port = server.sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{port}/onvif/device_service"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return lines[0].encode(), headers, body


async def endless_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\n")
    while True:
        writer.write(b"X-Filler: " + b"y" * 50 + b"\r\n")
        await writer.drain()


async def endless_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nX-Long: ")
    while True:
        writer.write(b"z" * 4096)
        await writer.drain()


async def endless_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while True:
        writer.write(b"1000\r\n" + b"c" * 0x1000 + b"\r\n")
        await writer.drain()


async def endless_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
    while True:
        writer.write(b"b" * 65536)
        await writer.drain()


async def endless_interim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    while True:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()


async def slowloris(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    for byte in OK * 100:  # one byte a second, each well within the call's timeout
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1.0)  # wait-ok: the hostile peer's own pace, the point of the test


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await asyncio.Event().wait()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)


async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")


TIMEOUT = 2.0


@pytest.mark.parametrize(
    ("handler", "error", "detail"),
    [
        (endless_headers, BadReplyError, "header lines"),
        (endless_line, BadReplyError, "longer than 8190"),
        (endless_chunks, BadReplyError, f"more than {MAX_REPLY_BYTES}"),
        (endless_body, BadReplyError, f"more than {MAX_REPLY_BYTES}"),
        (endless_interim, BadReplyError, "interim"),
        (slowloris, HttpError, "no reply within 2 s"),
        (silent, HttpError, "no reply within 2 s"),
        (hang_up, HttpError, "closed without a reply"),
        (cut_short, BadReplyError, "closed before the reply was complete"),
    ],
)
async def test_hostile_replies_end_as_http_errors_within_their_bound(
    handler: Handler, error: type[HttpError], detail: str
) -> None:
    async with serve(handler) as url, SoapHttp(allow_local=True) as http:
        start = time.monotonic()
        with pytest.raises(error, match=detail) as caught:
            await http.post(url, BODY, headers=HEADERS, timeout=TIMEOUT)
        # an endless reply fails on its bound (the error says which), the others on the timeout
        assert time.monotonic() - start < TIMEOUT + 1.0
        assert len(str(caught.value)) <= 200
    assert not await leftover_tasks_settled()


async def test_a_good_exchange_on_the_wire() -> None:
    seen: list[tuple[bytes, dict[str, str], bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n"
            b"DATE: Tue, 01 Dec 2026 10:00:00 GMT\r\nX-Long: " + b"v" * 2000 + b"\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3\r\n<a/\r\n1\r\n>\r\n0\r\n\r\n"
        )
        await writer.drain()

    async with serve(handler) as url, SoapHttp(allow_local=True) as http:
        reply = await http.post(url + "?q=1", BODY, headers=HEADERS, timeout=2.0)
    assert (reply.status_code, reply.content, reply.encoding) == (200, b"<a/>", None)
    assert reply.headers["Date"] == "Tue, 01 Dec 2026 10:00:00 GMT"
    assert len(reply.headers["X-Long"]) == 1000
    assert not reply.digest_challenge
    ((line, headers, body),) = seen
    port = url.split(":")[2].split("/")[0]
    assert line == b"POST /onvif/device_service?q=1 HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{port}"
    assert headers["connection"] == "close"
    assert headers["content-type"] == HEADERS["Content-Type"]
    assert "accept-encoding" not in headers
    assert "authorization" not in headers
    assert body == BODY


async def test_an_ipv6_literal_host() -> None:
    seen: list[dict[str, str]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append((await read_request(reader))[1])
        writer.write(OK)
        await writer.drain()

    async with serve(handler, "::1") as url, SoapHttp(allow_local=True) as http:
        reply = await http.post(url, BODY, headers=HEADERS, timeout=2.0)
    assert reply.content == b"ok"
    assert seen[0]["host"] == url.split("/")[2]  # [::1]:port


async def test_failures_before_any_exchange() -> None:
    async with serve(hang_up) as url:
        closed_port = url  # the server closes below; its port then refuses connections
    async with SoapHttp(allow_local=False) as strict, SoapHttp(allow_local=True) as http:
        with pytest.raises(RefusedAddressError):
            await strict.post("http://localhost/x", BODY, headers=HEADERS, timeout=2.0)
        with pytest.raises(HttpError, match="cannot connect"):
            await http.post(closed_port, BODY, headers=HEADERS, timeout=2.0)
        with pytest.raises(HttpError, match="cannot connect"):
            await http.post("http://no-such-host.invalid/", BODY, headers=HEADERS, timeout=5.0)
        with pytest.raises(UnsupportedUrlError):
            await http.post("https://10.0.0.1/", BODY, headers=HEADERS, timeout=2.0)
        with pytest.raises(HttpError, match="control character"):
            await http.post(closed_port, BODY, headers={"X": "a\r\nInjected: 1"}, timeout=2.0)


async def test_at_most_max_connections_are_open() -> None:
    open_now = 0
    most = 0
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        try:
            await read_request(reader)
            await release.wait()
            writer.write(OK)
            await writer.drain()
        finally:
            open_now -= 1

    async with serve(handler) as url, SoapHttp(allow_local=True, max_connections=2) as http:
        posts = [
            asyncio.create_task(http.post(url, BODY, headers=HEADERS, timeout=10.0))
            for _ in range(6)
        ]
        await wait_until(lambda: open_now == 2, within=5.0, what="two connections open")
        release.set()
        replies = await asyncio.gather(*posts)
    assert [r.status_code for r in replies] == [200] * 6
    assert most == 2


class DigestServer:
    """A camera's web server checking HTTP Digest (qop=auth) with ``algorithm``; ``stale_after``
    requests it issues a fresh nonce with ``stale=true``."""

    def __init__(self, algorithm: str, *, stale_after: int | None = None) -> None:
        self.algorithm = algorithm
        self.stale_after = stale_after
        self.nonce = "n0"
        self.requests: list[str | None] = []  # each request's Authorization

    def check(self, header: str) -> bool:
        fields: dict[str, str] = dict(re.findall(r'(\w+)="?([^",]*)"?', header[len("Digest ") :]))
        name = {"MD5": "md5", "SHA-256": "sha256"}[self.algorithm.removesuffix("-sess")]

        def h(text: str) -> str:
            return hashlib.new(name, text.encode()).hexdigest()

        ha1 = h("operator:cam:secret")
        if self.algorithm.endswith("-sess"):
            ha1 = h(f"{ha1}:{fields['nonce']}:{fields['cnonce']}")
        expected = h(
            f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:auth:"
            + h(f"POST:{fields['uri']}")
        )
        return fields["nonce"] == self.nonce and fields["response"] == expected

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, headers, _ = await read_request(reader)
        given = headers.get("authorization")
        self.requests.append(given)
        stale = self.stale_after is not None and len(self.requests) > self.stale_after
        if stale and given and self.nonce == "n0":
            self.nonce = "n1"
            writer.write(self.challenge(stale=True))
        elif given is not None and self.check(given):
            writer.write(OK)
        else:
            writer.write(self.challenge())
        await writer.drain()

    def challenge(self, *, stale: bool = False) -> bytes:
        extra = ", stale=true" if stale else ""
        return (
            b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="cam"\r\n'
            + f'WWW-Authenticate: Digest realm="cam", qop="auth", nonce="{self.nonce}", '
            f'algorithm={self.algorithm}, opaque="o"{extra}\r\nContent-Length: 0\r\n\r\n'.encode()
        )


@pytest.mark.parametrize("algorithm", ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"])
async def test_digest_answered_once_then_preemptive(algorithm: str) -> None:
    camera = DigestServer(algorithm)
    auth = DigestAuth("operator", "secret")
    async with serve(camera) as url, SoapHttp(allow_local=True) as http:
        first = await http.post(url, BODY, headers=HEADERS, timeout=2.0, digest=auth)
        second = await http.post(url, BODY, headers=HEADERS, timeout=2.0, digest=auth)
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(camera.requests) == 3  # challenged once, then authenticated at once
    assert camera.requests[0] is None
    assert "nc=00000001" in (camera.requests[1] or "")
    assert "nc=00000002" in (camera.requests[2] or "")


async def test_a_stale_nonce_is_answered_once() -> None:
    camera = DigestServer("MD5", stale_after=2)
    auth = DigestAuth("operator", "secret")
    async with serve(camera) as url, SoapHttp(allow_local=True) as http:
        for _ in range(3):
            reply = await http.post(url, BODY, headers=HEADERS, timeout=2.0, digest=auth)
            assert reply.status_code == 200
    # challenge, answer; preemptive (stale), answer with the new nonce; preemptive
    assert len(camera.requests) == 5
    assert 'nonce="n1"' in (camera.requests[3] or "")
    assert "nc=00000001" in (camera.requests[3] or "")
    assert "nc=00000002" in (camera.requests[4] or "")


async def test_a_wrong_password_is_tried_once_and_the_401_returned() -> None:
    camera = DigestServer("SHA-256")
    async with serve(camera) as url, SoapHttp(allow_local=True) as http:
        reply = await http.post(
            url, BODY, headers=HEADERS, timeout=2.0, digest=DigestAuth("operator", "wrong")
        )
    assert reply.status_code == 401
    assert len(camera.requests) == 2
    assert reply.headers["Www-Authenticate"].startswith("Digest")  # the last one, as before
    assert reply.digest_challenge


async def test_an_unknown_algorithm_returns_the_401_unanswered() -> None:
    camera = DigestServer("SHA-3")
    async with serve(camera) as url, SoapHttp(allow_local=True) as http:
        reply = await http.post(
            url, BODY, headers=HEADERS, timeout=2.0, digest=DigestAuth("operator", "secret")
        )
    assert reply.status_code == 401
    assert camera.requests == [None]


async def test_credentials_never_go_to_another_origin() -> None:
    first_camera, other_camera = DigestServer("MD5"), DigestServer("MD5")
    auth = DigestAuth("operator", "secret")
    async with (
        serve(first_camera) as first,
        serve(other_camera) as other,
        SoapHttp(allow_local=True) as http,
    ):
        assert (
            await http.post(first, BODY, headers=HEADERS, timeout=2.0, digest=auth)
        ).status_code == 200
        reply = await http.post(other, BODY, headers=HEADERS, timeout=2.0, digest=auth)
    assert reply.status_code == 401
    assert other_camera.requests == [None]  # neither preemptively nor after its challenge


# What the handler must not load to fit upstream's 24 MiB: HTTP, SOAP and metrics libraries, and
# the standard library's urllib.request (http.client and email come with it).
HEAVY = ("aiohttp", "zeep", "lxml", "prometheus_client", "urllib.request")


async def test_the_discovery_path_does_not_load_aiohttp() -> None:
    probe = (
        "import sys, akri_onvif.handler, akri_onvif.soap_http, akri_onvif.tracker,"
        " akri_onvif.describer, akri_onvif.digest, akri_onvif.media;"
        f" print(sorted(set({HEAVY!r}) & set(sys.modules)))"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert out.decode().strip() == "[]"
