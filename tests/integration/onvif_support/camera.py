"""A simulated ONVIF camera, run as a process inside a test's network namespace.

``python -m tests.integration.onvif_support.camera --ip 10.x.y.11 --uuid ... --mac ...``

* WS-Discovery: answers Probes for ``NetworkVideoTransmitter`` (unicast ProbeMatches), says Hello
  when it starts and Bye on SIGTERM; SIGKILL makes it stop answering without a word.
  ``--no-discovery`` leaves WS-Discovery out (another implementation announces the camera).
* Device service (SOAP 1.2 over aiohttp) at ``http://<ip>:<port>/onvif/device_service``:
  ``GetSystemDateAndTime`` (no auth), ``GetNetworkInterfaces`` (WS-Security UsernameToken digest
  checked when ``--username`` is given; ``ter:NotAuthorized`` fault otherwise), and ``--mode
  malformed`` (invalid XML) or ``--mode fault`` (a SOAP fault for every call).

It prints one JSON line ``{"ready": ...}`` on stdout once both sides listen. Written independently
of the handler's code (a test peer must not share the code it checks).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import signal
import socket
import struct
import sys
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast
from xml.etree import ElementTree as ET

from aiohttp import web

GROUP = "239.255.255.250"
PORT = 3702
SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TT = "http://www.onvif.org/ver10/schema"
TER = "http://www.onvif.org/ver10/error"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NS = f'xmlns:s="{SOAP}" xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="{DN}"'
SOAP_XML = "application/soap+xml; charset=utf-8"


@dataclass(frozen=True)
class Camera:
    ip: str
    port: int
    uuid: str
    mac: str
    scopes: tuple[str, ...]
    username: str | None
    password: str
    mode: str

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}/onvif/device_service"

    def endpoint_xml(self) -> str:
        return (
            f"<a:EndpointReference><a:Address>urn:uuid:{self.uuid}</a:Address></a:EndpointReference>"
            "<d:Types>dn:NetworkVideoTransmitter</d:Types>"
            f"<d:Scopes>{' '.join(self.scopes)}</d:Scopes>"
            f"<d:XAddrs>{self.url}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>"
        )


def envelope(action: str, body: str, *, relates_to: str | None = None, to: str) -> bytes:
    relates = f"<a:RelatesTo>{relates_to}</a:RelatesTo>" if relates_to else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope {NS}><s:Header>'
        f"<a:MessageID>uuid:{uuidlib.uuid4()}</a:MessageID>{relates}<a:To>{to}</a:To>"
        f"<a:Action>{WSD}/{action}</a:Action></s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def hello(camera: Camera) -> bytes:
    return envelope(
        "Hello",
        f"<d:Hello>{camera.endpoint_xml()}</d:Hello>",
        to="urn:schemas-xmlsoap-org:ws:2005:04:discovery",
    )


def bye(camera: Camera) -> bytes:
    body = f"<d:Bye><a:EndpointReference><a:Address>urn:uuid:{camera.uuid}</a:Address></a:EndpointReference></d:Bye>"
    return envelope("Bye", body, to="urn:schemas-xmlsoap-org:ws:2005:04:discovery")


def probe_match(camera: Camera, message_id: str) -> bytes:
    body = f"<d:ProbeMatches><d:ProbeMatch>{camera.endpoint_xml()}</d:ProbeMatch></d:ProbeMatches>"
    return envelope(
        "ProbeMatches",
        body,
        relates_to=message_id,
        to="http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous",
    )


def probe_id(data: bytes) -> str | None:
    """The MessageID of a Probe that asks for video transmitters (or for anything), else None."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    probe = root.find(f"{{{SOAP}}}Body/{{{WSD}}}Probe")
    if probe is None:
        return None
    types = probe.findtext(f"{{{WSD}}}Types") or ""
    if types.strip() and not any(t.endswith("NetworkVideoTransmitter") for t in types.split()):
        return None
    return root.findtext("{*}Header/{*}MessageID")


class Discovery(asyncio.DatagramProtocol):
    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message_id = probe_id(data)
        if message_id is not None and self.transport is not None:
            self.transport.sendto(probe_match(self.camera, message_id), addr)

    def announce(self, datagram: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(datagram, (GROUP, PORT))


def discovery_socket(ip: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("", PORT))
    sock.setsockopt(
        socket.IPPROTO_IP,
        socket.IP_ADD_MEMBERSHIP,
        struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton(ip)),
    )
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ip))
    sock.setblocking(False)
    return sock


def soap_reply(body: str, *, status: int = 200) -> web.Response:
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP}" xmlns:tds="{TDS}" '
        f'xmlns:tt="{TT}" xmlns:ter="{TER}"><s:Body>{body}</s:Body></s:Envelope>'
    )
    return web.Response(
        body=text.encode(), status=status, content_type="application/soap+xml", charset="utf-8"
    )


def fault(code: str, subcode: str, reason: str) -> web.Response:
    body = (
        f"<s:Fault><s:Code><s:Value>s:{code}</s:Value><s:Subcode><s:Value>ter:{subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">{reason}</s:Text></s:Reason></s:Fault>'
    )
    return soap_reply(body, status=400 if code == "Sender" else 500)


def authorized(root: ET.Element, camera: Camera) -> bool:
    """Checks the UsernameToken digest: Base64(SHA1(nonce + created + password))."""
    token = root.find(f"{{{SOAP}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        return False
    username = token.findtext(f"{{{WSSE}}}Username")
    password = token.find(f"{{{WSSE}}}Password")
    nonce = token.findtext(f"{{{WSSE}}}Nonce")
    created = token.findtext(f"{{{WSU}}}Created")
    if username != camera.username or password is None or nonce is None or created is None:
        return False
    if not (password.get("Type") or "").endswith("#PasswordDigest"):
        return False
    expected = base64.b64encode(
        hashlib.sha1(base64.b64decode(nonce) + created.encode() + camera.password.encode()).digest()
    ).decode()
    return (password.text or "").strip() == expected


def system_date_and_time() -> str:
    now = datetime.now(UTC)
    return (
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
        f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute><tt:Second>{now.second}</tt:Second></tt:Time>"
        f"<tt:Date><tt:Year>{now.year}</tt:Year><tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date>"
        "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def network_interfaces(camera: Camera) -> str:
    return (
        '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
        "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
        f"<tt:HwAddress>{camera.mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
        "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config>"
        f"<tt:Manual><tt:Address>{camera.ip}</tt:Address><tt:PrefixLength>24</tt:PrefixLength></tt:Manual>"
        "<tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
        "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
    )


def device_service(camera: Camera) -> web.Application:
    async def handle(request: web.Request) -> web.Response:  # noqa: PLR0911 - one reply per case
        if camera.mode == "malformed":
            return web.Response(body=b"<s:Envelope><unclosed", content_type="application/soap+xml")
        if camera.mode == "fault":
            return fault("Receiver", "Action", "simulated failure")
        try:
            root = ET.fromstring(await request.read())
        except ET.ParseError:
            return fault("Sender", "WellFormed", "not XML")
        body = root.find(f"{{{SOAP}}}Body")
        operation = body[0].tag.rsplit("}", 1)[-1] if body is not None and len(body) else ""
        if operation == "GetSystemDateAndTime":
            return soap_reply(system_date_and_time())
        if operation == "GetNetworkInterfaces":
            if camera.username is not None and not authorized(root, camera):
                return fault("Sender", "NotAuthorized", "Sender not authorized")
            return soap_reply(network_interfaces(camera))
        return fault("Receiver", "ActionNotSupported", f"no {operation}")

    app = web.Application()
    app.router.add_post("/onvif/device_service", handle)
    return app


async def serve(camera: Camera, stack: list[object], *, discovery: bool) -> Discovery | None:
    """Starts one camera's device service and (unless told not to) its discovery socket;
    returns its discovery side."""
    loop = asyncio.get_running_loop()
    runner = web.AppRunner(device_service(camera), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, camera.ip, camera.port).start()
    stack.append(runner)
    if not discovery:
        return None
    transport, side = await loop.create_datagram_endpoint(
        lambda: Discovery(camera), sock=discovery_socket(camera.ip)
    )
    stack.append(transport)
    return side


async def main(cameras: list[Camera], *, say_hello: bool, discovery: bool = True) -> None:
    loop = asyncio.get_running_loop()
    stack: list[object] = []
    served = [await serve(camera, stack, discovery=discovery) for camera in cameras]
    sides = [side for side in served if side is not None]
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)

    # SIGUSR1 says Hello again, SIGUSR2 says Bye without leaving (for benchmarks).
    def announce_all(message: Callable[[Camera], bytes]) -> None:
        for side in sides:
            side.announce(message(side.camera))

    loop.add_signal_handler(signal.SIGUSR1, announce_all, hello)
    loop.add_signal_handler(signal.SIGUSR2, announce_all, bye)
    if say_hello:
        announce_all(hello)
    print(json.dumps({"ready": True, "urls": [c.url for c in cameras]}), flush=True)
    await stop.wait()
    announce_all(bye)
    await asyncio.sleep(0.05)  # wait-ok: the simulated camera lets its Byes leave before closing
    for item in reversed(stack):
        if isinstance(item, web.AppRunner):
            await item.cleanup()
        elif isinstance(item, asyncio.BaseTransport):
            item.close()


def parse_args(argv: list[str]) -> tuple[list[Camera], bool, bool]:
    """One camera per ``--ip``; with several, uuid and MAC end in the camera's index."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ip", action="append", required=True)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--uuid", required=True)
    parser.add_argument("--mac", required=True)
    parser.add_argument("--scope", action="append", default=[])
    parser.add_argument("--username")
    parser.add_argument("--password", default="")
    parser.add_argument("--mode", choices=["ok", "malformed", "fault"], default="ok")
    parser.add_argument("--no-hello", action="store_true")
    parser.add_argument("--no-discovery", action="store_true")
    args = parser.parse_args(argv)
    many = len(args.ip) > 1
    cameras = [
        Camera(
            ip=ip,
            port=args.port,
            uuid=f"{args.uuid[:-4]}{index:04x}" if many else args.uuid,
            mac=f"{args.mac[:-5]}{index >> 8:02x}:{index & 0xFF:02x}" if many else args.mac,
            scopes=tuple(args.scope),
            username=args.username,
            password=args.password,
            mode=args.mode,
        )
        for index, ip in enumerate(args.ip)
    ]
    return cameras, not args.no_hello, not args.no_discovery


if __name__ == "__main__":
    parsed, say_hello, with_discovery = parse_args(sys.argv[1:])
    asyncio.run(main(parsed, say_hello=say_hello, discovery=with_discovery))
