"""A hostile "camera" network, run as a process inside a test's camera namespace.

``python -m tests.integration.onvif_support.hostile --ip A --trap-port P --good-uuid U``

It answers every WS-Discovery Probe with ProbeMatches for hostile endpoints, and each of those
endpoints' XAddr is a raw TCP server on ``A`` with one bad reply:

* ``xxe`` (an external entity pointing at the trap), ``laughs`` (nested entity expansion),
  ``endless`` (a chunked body that never ends), ``oversized`` (``Content-Length`` of 1 GB, then
  bytes), ``long-header`` (a 100 KiB header line), ``unicode-status`` (a status code in
  full-width digits), ``unicode-length`` (a ``Content-Length`` in Arabic-Indic digits),
  ``empty-body`` (a SOAP envelope with an empty Body), ``drip`` (one byte every half second),
  ``garbage-headers`` (header lines without colons, a NUL), ``basic-401`` (a 401 asking for Basic
  authentication), ``web-page`` (an HTML page: not an ONVIF device). Every request that carries a
  credential (an ``Authorization`` header or a UsernameToken) is counted as ``credentials``;
* endpoints whose XAddrs are refused addresses where the trap listens (loopback ``127.0.0.1``,
  ``[::1]``, ``localhost``; link-local ``169.254.169.254``; ``0.0.0.0``), and one with 500 XAddrs;
* datagrams with a DTD (entity expansion, external entity), and not-XML datagrams;
* a flood of spoofed Hellos (random uuids, XAddrs at the ``drip`` server) and spoofed Byes for
  the good camera's uuid (``--good-uuid``), repeated every ``--flood-interval`` seconds.

It prints one JSON line ``{"ready": true}`` when listening, and on SIGTERM one line
``{"requests": {mode: count}}``: how often each bad server was asked. Everything it sends stays in the
test's namespaces.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import struct
import sys
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from typing import cast
from xml.etree import ElementTree as ET

GROUP = "239.255.255.250"
PORT = 3702
SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NS = f'xmlns:s="{SOAP}" xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"'
BASE_PORT = 9100
MODES = (
    "xxe",
    "laughs",
    "endless",
    "oversized",
    "long-header",
    "unicode-status",
    "unicode-length",
    "empty-body",
    "drip",
    "garbage-headers",
    "basic-401",
    "web-page",
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE s:Envelope ['
    '<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
    + "".join(
        f'<!ENTITY {chr(ord("b") + i)} "{("&" + chr(ord("a") + i) + ";") * 10}">' for i in range(9)
    )
    + "]>"
)


def hostile_uuid(index: int) -> str:
    return f"0bad0000-0000-4000-8000-{index:012x}"


def envelope(action: str, body: str, relates_to: str | None = None) -> bytes:
    relates = f"<a:RelatesTo>{relates_to}</a:RelatesTo>" if relates_to else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope {NS}><s:Header>'
        f"<a:MessageID>uuid:{uuidlib.uuid4()}</a:MessageID>{relates}"
        f"<a:Action>{WSD}/{action}</a:Action></s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def endpoint(uuid: str, xaddrs: list[str]) -> str:
    return (
        f"<a:EndpointReference><a:Address>urn:uuid:{uuid}</a:Address>"
        "</a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
        f"<d:XAddrs>{' '.join(xaddrs)}</d:XAddrs>"
    )


def match(uuid: str, xaddrs: list[str]) -> str:
    return f"<d:ProbeMatch>{endpoint(uuid, xaddrs)}</d:ProbeMatch>"


class Hostile:
    def __init__(self, ip: str, trap_port: int, good_uuid: str) -> None:
        self.ip = ip
        self.trap_port = trap_port
        self.good_uuid = good_uuid
        self.transport: asyncio.DatagramTransport | None = None

    def url(self, mode: str) -> str:
        return f"http://{self.ip}:{BASE_PORT + MODES.index(mode)}/onvif/device_service"

    def replies(self, message_id: str) -> list[bytes]:
        t = self.trap_port
        endpoints = [match(hostile_uuid(i), [self.url(mode)]) for i, mode in enumerate(MODES)]
        refused = [
            [
                f"http://127.0.0.1:{t}/onvif/device_service",
                f"http://[::1]:{t}/onvif/device_service",
            ],
            [f"http://localhost:{t}/onvif/device_service"],
            [f"http://169.254.169.254:{t}/latest/meta-data/"],
            [f"http://0.0.0.0:{t}/onvif/device_service", f"http://[fe80::1]:{t}/"],
        ]
        endpoints += [match(hostile_uuid(100 + i), x) for i, x in enumerate(refused)]
        many = [f"http://{self.ip}:{10000 + i}/onvif/device_service" for i in range(500)]
        datagrams = [
            envelope(
                "ProbeMatches", f"<d:ProbeMatches>{''.join(group)}</d:ProbeMatches>", message_id
            )
            for group in (endpoints[:5], endpoints[5:10], endpoints[10:])
        ]
        datagrams.append(
            envelope("ProbeMatches", match(hostile_uuid(200), many), message_id)[:65000]
        )
        datagrams.append((LAUGHS + f"<s:Envelope {NS}><s:Body>&j;</s:Body></s:Envelope>").encode())
        datagrams.append(
            (
                f'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "http://127.0.0.1:{t}/xxe">]>'
                f"<s:Envelope {NS}><s:Body>&x;</s:Body></s:Envelope>"
            ).encode()
        )
        datagrams.append(b"\x00\xff not xml at all <<<")
        return datagrams

    def flood(self, count: int) -> None:
        assert self.transport is not None
        for _ in range(count):
            body = f"<d:Hello>{endpoint(str(uuidlib.uuid4()), [self.url('drip')])}</d:Hello>"
            self.transport.sendto(envelope("Hello", body), (GROUP, PORT))
        bye = (
            f"<d:Bye><a:EndpointReference><a:Address>urn:uuid:{self.good_uuid}</a:Address>"
            "</a:EndpointReference></d:Bye>"
        )
        self.transport.sendto(envelope("Bye", bye), (GROUP, PORT))


class Discovery(asyncio.DatagramProtocol):
    def __init__(self, hostile: Hostile) -> None:
        self.hostile = hostile

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.hostile.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            root = ET.fromstring(data)
        except ET.ParseError:
            return
        if root.find(f"{{{SOAP}}}Body/{{{WSD}}}Probe") is None:
            return
        message_id = root.findtext("{*}Header/{*}MessageID") or ""
        assert self.hostile.transport is not None
        for datagram in self.hostile.replies(message_id):
            self.hostile.transport.sendto(datagram, addr)


def soap(body: str) -> bytes:
    return f'<?xml version="1.0"?><s:Envelope xmlns:s="{SOAP}"><s:Body>{body}</s:Body></s:Envelope>'.encode()


def head(status: str, *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


async def reply(mode: str, trap_port: int, writer: asyncio.StreamWriter) -> None:  # noqa: PLR0912
    ct = "Content-Type: application/soap+xml; charset=utf-8"
    if mode == "xxe":
        body = (
            f'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "http://127.0.0.1:{trap_port}/xxe">]>'
            f'<s:Envelope xmlns:s="{SOAP}"><s:Body>&x;</s:Body></s:Envelope>'
        ).encode()
        writer.write(head("200 OK", ct, f"Content-Length: {len(body)}") + body)
    elif mode == "laughs":
        body = (LAUGHS + f'<s:Envelope xmlns:s="{SOAP}"><s:Body>&j;</s:Body></s:Envelope>').encode()
        writer.write(head("200 OK", ct, f"Content-Length: {len(body)}") + body)
    elif mode == "endless":
        writer.write(head("200 OK", ct, "Transfer-Encoding: chunked"))
        chunk = b"10000\r\n" + b"<" * 0x10000 + b"\r\n"
        while True:
            writer.write(chunk)
            await writer.drain()
    elif mode == "oversized":
        writer.write(head("200 OK", ct, "Content-Length: 1000000000"))
        while True:
            writer.write(b"x" * 0x10000)
            await writer.drain()
    elif mode == "long-header":
        writer.write(head("200 OK", ct, "X-Long: " + "a" * 100_000, "Content-Length: 0"))
    elif mode == "unicode-status":
        body = soap("")
        writer.write(head("\uff12\uff10\uff10 OK", ct, f"Content-Length: {len(body)}") + body)
    elif mode == "unicode-length":
        body = soap("")
        writer.write(head("200 OK", ct, "Content-Length: \u0663\u0660") + body)
    elif mode == "empty-body":
        body = soap("")
        writer.write(head("200 OK", ct, f"Content-Length: {len(body)}") + body)
    elif mode == "drip":
        for byte in head("200 OK", ct, "Content-Length: 100000"):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.5)  # wait-ok: a slow peer is the point
    elif mode == "basic-401":
        writer.write(
            head("401 Unauthorized", 'WWW-Authenticate: Basic realm="x"', "Content-Length: 0")
        )
    elif mode == "web-page":
        body = b"<html><body>router login</body></html>"
        writer.write(
            head("200 OK", "Content-Type: text/html", f"Content-Length: {len(body)}") + body
        )
    elif mode == "garbage-headers":
        writer.write(b"HTTP/1.1 200 OK\r\nno colon here\r\n\x00\x01: \xff\r\n\r\n" + soap(""))
    await writer.drain()


def server(
    mode: str, trap_port: int, counts: dict[str, int]
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts[mode] = counts.get(mode, 0) + 1
        try:
            request_head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in request_head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length" and value.strip().isdigit():
                    length = min(int(value), 1 << 16)
            body = await reader.readexactly(length)
            if b"authorization:" in request_head.lower() or b"UsernameToken" in body:
                counts["credentials"] = counts.get("credentials", 0) + 1
            await reply(mode, trap_port, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    return handle


def discovery_socket(ip: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("", PORT))
    mreq = struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton(ip))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ip))
    sock.setblocking(False)
    return sock


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    hostile = Hostile(args.ip, args.trap_port, args.good_uuid)
    counts: dict[str, int] = {}
    servers = [
        await asyncio.start_server(server(mode, args.trap_port, counts), args.ip, BASE_PORT + index)
        for index, mode in enumerate(MODES)
    ]
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Discovery(hostile), sock=discovery_socket(args.ip)
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(json.dumps({"ready": True, "urls": [hostile.url(m) for m in MODES]}), flush=True)
    while not stop.is_set():
        hostile.flood(args.flood)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.flood_interval)
    transport.close()
    for item in servers:
        item.close()
    print(json.dumps({"requests": counts}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ip", required=True)
    parser.add_argument("--trap-port", type=int, required=True)
    parser.add_argument("--good-uuid", required=True)
    parser.add_argument("--flood", type=int, default=200)
    parser.add_argument("--flood-interval", type=float, default=1.0)
    asyncio.run(main(parser.parse_args(sys.argv[1:])))
