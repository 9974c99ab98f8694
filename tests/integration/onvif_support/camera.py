"""A simulated ONVIF camera, run as a process inside a test's network namespace.

``python -m tests.integration.onvif_support.camera --ip 10.x.y.11 --uuid ... --mac ...``

* WS-Discovery: answers Probes for ``NetworkVideoTransmitter`` (unicast ProbeMatches), says Hello
  when it starts and Bye on SIGTERM; SIGKILL makes it stop answering without a word.
  ``--no-discovery`` leaves WS-Discovery out (another implementation announces the camera).
* Device service (SOAP 1.2 over aiohttp) at ``http://<ip>:<port>/onvif/device_service``:
  ``GetSystemDateAndTime`` (no auth), ``GetNetworkInterfaces``, ``GetServices`` (WS-Security
  UsernameToken digest checked when ``--username`` is given; ``ter:NotAuthorized`` fault
  otherwise); Media 1 at ``/onvif/media_service`` and Media 2 at ``/onvif/media2_service``
  (``GetProfiles``: ``main`` 1920x1080 and ``sub`` 640x360, ``GetStreamUri``, ``GetSnapshotUri``;
  the stream URIs carry the credential, as some cameras' do: ``main`` streams RTSP (not served),
  ``sub`` MJPEG over HTTP); ``--mode malformed`` (invalid XML) or ``--mode fault`` (a SOAP fault
  for every call).
* Footage (``footage.py``): ``GET /snapshot.jpg`` (also ``/snapshot/<token>.jpg``, what
  ``GetSnapshotUri`` answers) is one JPEG, ``GET /stream.mjpeg`` (``sub``'s stream URI) is
  ``multipart/x-mixed-replace; boundary=frame`` at ``--fps`` (10) frames a second: a moving test
  pattern with the camera's ``--name`` (default ``cam-`` and the uuid's last 8 hex digits) and
  the clock drawn on it, and ``akri-camera name=<name> frame=<n> time=<t>`` in each JPEG's COM
  segment. Frames are drawn only while someone reads. With ``--username`` these want HTTP Basic
  or Digest (only Digest with ``digest-only``), like cameras' web servers.
* Quirks (``--quirk``, repeatable), each one a way cameras in the field differ:
  ``bare-probe-match`` (the ProbeMatch straight in the SOAP Body), ``soap11`` (SOAP 1.1 envelopes
  everywhere, WS-Addressing 2005/08, an upper-case ``uuid:`` address and no ``Types``),
  ``multi-xaddrs`` (XAddrs with an IPv6 URL in brackets and a host name besides the IPv4 one,
  split by newlines and runs of spaces; answers each probe twice), ``auth-every-call``
  (``GetSystemDateAndTime`` wants the credential too), ``digest-only`` (only HTTP Digest, RFC
  7616, ``--digest-algorithm`` MD5 or SHA-256; a 401 challenge otherwise), ``no-network-interfaces``
  (``ActionNotSupported``), ``no-media2``, ``basic-only`` (its media
  endpoints take HTTP Basic only); and ``--clock-skew SECONDS`` (its clock, the one it
  tells and the one it checks UsernameToken timestamps against, is that far off).

It prints one JSON line ``{"ready": ...}`` on stdout once both sides listen. Written independently
of the handler's code (a test peer must not share the code it checks).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import re
import secrets
import signal
import socket
import struct
import sys
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import cast
from urllib.parse import quote
from xml.etree import ElementTree as ET

from aiohttp import web

from tests.integration.onvif_support.footage import Footage

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
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA2005 = "http://www.w3.org/2005/08/addressing"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TR2 = "http://www.onvif.org/ver20/media/wsdl"
NS = f'xmlns:s="{SOAP}" xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="{DN}"'
NS11 = f'xmlns:s="{SOAP11}" xmlns:a="{WSA2005}" xmlns:d="{WSD}" xmlns:dn="{DN}"'
SOAP_XML = "application/soap+xml; charset=utf-8"
QUIRKS = (
    "bare-probe-match",
    "soap11",
    "multi-xaddrs",
    "auth-every-call",
    "digest-only",
    "no-network-interfaces",
    "no-media2",
    "basic-only",
)
PROFILES = (("main", "Main stream", 1920, 1080), ("sub", "Sub stream", 640, 360))
TOKEN_WINDOW = timedelta(seconds=60)


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
    quirks: frozenset[str] = frozenset()
    clock_skew: float = 0.0
    digest_algorithm: str = "MD5"
    name: str = ""
    fps: float = 10.0

    @property
    def title(self) -> str:
        """The name drawn on its footage."""
        return self.name or f"cam-{self.uuid.replace('-', '')[-8:]}"

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}/onvif/device_service"

    @property
    def base(self) -> str:
        return f"http://{self.ip}:{self.port}"

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock_skew)

    def address(self) -> str:
        if "soap11" in self.quirks:
            return f"uuid:{self.uuid.upper()}"
        return f"urn:uuid:{self.uuid}"

    def xaddrs(self) -> str:
        if "multi-xaddrs" in self.quirks:
            return (
                f"\n  {self.url}\n   http://[fd00:ac:1::{self.port}]:{self.port}/onvif/device_service"
                f"    http://camera-{self.port}.invalid:{self.port}/onvif/device_service \n"
            )
        return self.url

    def endpoint_xml(self) -> str:
        types = "" if "soap11" in self.quirks else "<d:Types>dn:NetworkVideoTransmitter</d:Types>"
        return (
            f"<a:EndpointReference><a:Address>{self.address()}</a:Address></a:EndpointReference>"
            f"{types}<d:Scopes>{' '.join(self.scopes)}</d:Scopes>"
            f"<d:XAddrs>{self.xaddrs()}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>"
        )


def envelope(
    action: str, body: str, *, relates_to: str | None = None, to: str, soap11: bool = False
) -> bytes:
    relates = f"<a:RelatesTo>{relates_to}</a:RelatesTo>" if relates_to else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope {NS11 if soap11 else NS}><s:Header>'
        f"<a:MessageID>uuid:{uuidlib.uuid4()}</a:MessageID>{relates}<a:To>{to}</a:To>"
        f"<a:Action>{WSD}/{action}</a:Action></s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def hello(camera: Camera) -> bytes:
    return envelope(
        "Hello",
        f"<d:Hello>{camera.endpoint_xml()}</d:Hello>",
        to="urn:schemas-xmlsoap-org:ws:2005:04:discovery",
        soap11="soap11" in camera.quirks,
    )


def bye(camera: Camera) -> bytes:
    body = f"<d:Bye><a:EndpointReference><a:Address>{camera.address()}</a:Address></a:EndpointReference></d:Bye>"
    return envelope(
        "Bye",
        body,
        to="urn:schemas-xmlsoap-org:ws:2005:04:discovery",
        soap11="soap11" in camera.quirks,
    )


def probe_match(camera: Camera, message_id: str) -> bytes:
    match = f"<d:ProbeMatch>{camera.endpoint_xml()}</d:ProbeMatch>"
    body = (
        match
        if "bare-probe-match" in camera.quirks
        else f"<d:ProbeMatches>{match}</d:ProbeMatches>"
    )
    return envelope(
        "ProbeMatches",
        body,
        relates_to=message_id,
        to="http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous",
        soap11="soap11" in camera.quirks,
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
            if "multi-xaddrs" in self.camera.quirks:  # some cameras answer every probe twice
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


def soap_reply(camera: Camera, body: str, *, status: int = 200) -> web.Response:
    namespace = SOAP11 if "soap11" in camera.quirks else SOAP
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{namespace}" '
        f'xmlns:tds="{TDS}" xmlns:tt="{TT}" xmlns:ter="{TER}" xmlns:trt="{TRT}" xmlns:tr2="{TR2}">'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )
    content_type = "text/xml" if "soap11" in camera.quirks else "application/soap+xml"
    return web.Response(
        body=text.encode(),
        status=status,
        content_type=content_type,
        charset="utf-8",
        headers={"Date": format_datetime(camera.now(), usegmt=True)},
    )


def fault(camera: Camera, code: str, subcode: str, reason: str) -> web.Response:
    status = 400 if code == "Sender" else 500
    if "soap11" in camera.quirks:
        body = (
            f"<s:Fault><faultcode>ter:{subcode}</faultcode><faultstring>{reason}</faultstring>"
            "</s:Fault>"
        )
        return soap_reply(camera, body, status=status)
    body = (
        f"<s:Fault><s:Code><s:Value>s:{code}</s:Value><s:Subcode><s:Value>ter:{subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">{reason}</s:Text></s:Reason></s:Fault>'
    )
    return soap_reply(camera, body, status=status)


def authorized(root: ET.Element, camera: Camera) -> bool:
    """Checks the UsernameToken digest, Base64(SHA1(nonce + created + password)), and that its
    ``Created`` is within a minute of the camera's own clock."""
    token = root.find(f"{{*}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
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
    try:
        stamp = datetime.fromisoformat(created.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    if abs(stamp - camera.now()) > TOKEN_WINDOW:
        return False
    expected = base64.b64encode(
        hashlib.sha1(base64.b64decode(nonce) + created.encode() + camera.password.encode()).digest()
    ).decode()
    return (password.text or "").strip() == expected


class DigestCheck:
    """HTTP Digest (RFC 7616, qop=auth) as a camera checks it: MD5 or SHA-256."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.realm = f"camera-{camera.port}"
        self.nonces: set[str] = set()

    def hash(self, data: str) -> str:
        algorithm = "sha256" if self.camera.digest_algorithm == "SHA-256" else "md5"
        return hashlib.new(algorithm, data.encode()).hexdigest()

    def challenge(self) -> web.Response:
        nonce = secrets.token_hex(16)
        self.nonces.add(nonce)
        header = (
            f'Digest realm="{self.realm}", qop="auth", nonce="{nonce}", '
            f"algorithm={self.camera.digest_algorithm}"
        )
        return web.Response(
            status=401,
            text="<html><body>401 Unauthorized</body></html>",
            content_type="text/html",
            headers={"WWW-Authenticate": header},
        )

    def valid(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("digest "):
            return False
        pairs = re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header[7:])
        fields = {key: quoted or bare for key, quoted, bare in pairs}
        if fields.get("username") != self.camera.username or fields.get("nonce") not in self.nonces:
            return False
        if fields.get("realm") != self.realm or fields.get("qop") != "auth":
            return False
        ha1 = self.hash(f"{self.camera.username}:{self.realm}:{self.camera.password}")
        ha2 = self.hash(f"{request.method}:{fields.get('uri', '')}")
        expected = self.hash(
            f"{ha1}:{fields['nonce']}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:auth:{ha2}"
        )
        return fields.get("response") == expected


def system_date_and_time(camera: Camera) -> str:
    now = camera.now()
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


def services(camera: Camera) -> str:
    offered = [(TDS, "/onvif/device_service"), (TRT, "/onvif/media_service")]
    if "no-media2" not in camera.quirks:
        offered.append((TR2, "/onvif/media2_service"))
    entries = "".join(
        f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{camera.base}{path}</tds:XAddr>"
        "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
        for ns, path in offered
    )
    return f"<tds:GetServicesResponse>{entries}</tds:GetServicesResponse>"


def stream_uri(camera: Camera, token: str) -> str:
    """``sub``: the MJPEG stream over HTTP; others: an RTSP URI (not served). Both with the
    credential in them, as some cameras give it."""
    userinfo = f"{camera.username}:{camera.password}@" if camera.username else ""
    if token == "sub":
        return f"http://{userinfo}{camera.ip}:{camera.port}/stream.mjpeg"
    return f"rtsp://{userinfo}{camera.ip}:554/stream/{token}"


def media_reply(camera: Camera, version: str, operation: str, request: ET.Element) -> str | None:
    token = (request.findtext("{*}ProfileToken") or "").strip()
    prefix = "tr2" if version == "media2" else "trt"
    if operation == "GetProfiles":
        profiles = ""
        for tok, name, width, height in PROFILES:
            resolution = f"<tt:Resolution><tt:Width>{width}</tt:Width><tt:Height>{height}</tt:Height></tt:Resolution>"
            if version == "media2":
                encoder = f"<tr2:Configurations><tr2:VideoEncoder token='ve-{tok}'><tt:Name>ve</tt:Name>{resolution}</tr2:VideoEncoder></tr2:Configurations>"
            else:
                encoder = f"<tt:VideoEncoderConfiguration token='ve-{tok}'><tt:Name>ve</tt:Name>{resolution}</tt:VideoEncoderConfiguration>"
            profiles += f"<{prefix}:Profiles token='{tok}' fixed='true'><tt:Name>{name}</tt:Name>{encoder}</{prefix}:Profiles>"
        return f"<{prefix}:GetProfilesResponse>{profiles}</{prefix}:GetProfilesResponse>"
    if token not in {p[0] for p in PROFILES}:
        return None
    if operation == "GetStreamUri":
        uri = stream_uri(camera, token)
    elif operation == "GetSnapshotUri":
        uri = f"{camera.base}/snapshot/{token}.jpg"
    else:
        return None
    if version == "media2":
        return f"<tr2:{operation}Response><tr2:Uri>{uri}</tr2:Uri></tr2:{operation}Response>"
    return (
        f"<trt:{operation}Response><trt:MediaUri><tt:Uri>{uri}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false"
        "</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>"
        f"</trt:{operation}Response>"
    )


STOPPING = web.AppKey("stopping", asyncio.Event)


def media_authorized(request: web.Request, camera: Camera, digest: DigestCheck) -> bool:
    """HTTP Basic (unless ``digest-only``) or Digest with the camera's credential."""
    if camera.username is None:
        return True
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic ") and "digest-only" not in camera.quirks:
        try:
            given = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(given, f"{camera.username}:{camera.password}")
    return "basic-only" not in camera.quirks and digest.valid(request)


def media_routes(app: web.Application, camera: Camera, digest: DigestCheck) -> None:
    """``/snapshot.jpg``, ``/snapshot/<token>.jpg`` and ``/stream.mjpeg``."""
    footage = Footage(camera.title, fps=camera.fps)
    app[STOPPING] = asyncio.Event()

    def challenge() -> web.Response:
        if "basic-only" in camera.quirks:
            return web.Response(
                status=401, headers={"WWW-Authenticate": f'Basic realm="{digest.realm}"'}
            )
        answer = digest.challenge()
        if "digest-only" not in camera.quirks:
            answer.headers.add("WWW-Authenticate", f'Basic realm="{digest.realm}"')
        return answer

    async def snapshot(request: web.Request) -> web.Response:
        if not media_authorized(request, camera, digest):
            return challenge()
        number, jpeg = footage.current()
        return web.Response(
            body=jpeg, content_type="image/jpeg", headers={"X-Frame-Number": str(number)}
        )

    async def stream(request: web.Request) -> web.StreamResponse:
        if not media_authorized(request, camera, digest):
            return challenge()
        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace; boundary=frame"}
        )
        await response.prepare(request)
        stopping = request.app[STOPPING]
        try:
            while not stopping.is_set():
                _, jpeg = footage.current()
                head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                await response.write(head.encode() + jpeg + b"\r\n")
                with contextlib.suppress(TimeoutError):  # the next tick
                    await asyncio.wait_for(stopping.wait(), footage.seconds_to_next())
        except (ConnectionResetError, ConnectionError):
            pass  # the reader went away
        return response

    app.router.add_get("/snapshot.jpg", snapshot)
    app.router.add_get("/snapshot/{token}.jpg", snapshot)
    app.router.add_get("/stream.mjpeg", stream)


def device_service(camera: Camera) -> web.Application:
    digest = DigestCheck(camera)
    public = {"GetSystemDateAndTime"} if "auth-every-call" not in camera.quirks else set()

    async def handle(request: web.Request) -> web.Response:  # noqa: PLR0911, PLR0912 - one reply per case
        if camera.mode == "malformed":
            return web.Response(body=b"<s:Envelope><unclosed", content_type="application/soap+xml")
        if camera.mode == "fault":
            return fault(camera, "Receiver", "Action", "simulated failure")
        try:
            root = ET.fromstring(await request.read())
        except ET.ParseError:
            return fault(camera, "Sender", "WellFormed", "not XML")
        body = root.find("{*}Body")
        operation = body[0].tag.rsplit("}", 1)[-1] if body is not None and len(body) else ""
        if camera.username is not None and operation not in public:
            if "digest-only" in camera.quirks:
                if not digest.valid(request):
                    return digest.challenge()
            elif not authorized(root, camera):
                return fault(camera, "Sender", "NotAuthorized", "Sender not authorized")
        assert body is not None
        path = request.path
        if path == "/onvif/device_service":
            if operation == "GetSystemDateAndTime":
                return soap_reply(camera, system_date_and_time(camera))
            if operation == "GetNetworkInterfaces" and "no-network-interfaces" not in camera.quirks:
                return soap_reply(camera, network_interfaces(camera))
            if operation == "GetServices":
                return soap_reply(camera, services(camera))
        else:
            version = "media2" if path == "/onvif/media2_service" else "media1"
            answer = media_reply(camera, version, operation, body[0])
            if answer is not None:
                return soap_reply(camera, answer)
        return fault(camera, "Receiver", "ActionNotSupported", f"no {operation}")

    app = web.Application()
    media_routes(app, camera, digest)
    app.router.add_post("/onvif/device_service", handle)
    app.router.add_post("/onvif/media_service", handle)
    if "no-media2" not in camera.quirks:
        app.router.add_post("/onvif/media2_service", handle)
    return app


async def serve(camera: Camera, stack: list[object], *, discovery: bool) -> Discovery | None:
    """Starts one camera's device service and (unless told not to) its discovery socket;
    returns its discovery side."""
    loop = asyncio.get_running_loop()
    runner = web.AppRunner(device_service(camera), access_log=None, shutdown_timeout=1.0)
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
            item.app[STOPPING].set()  # open MJPEG streams end
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
    parser.add_argument("--quirk", action="append", default=[], choices=QUIRKS)
    parser.add_argument("--clock-skew", type=float, default=0.0)
    parser.add_argument("--digest-algorithm", choices=["MD5", "SHA-256"], default="MD5")
    parser.add_argument("--name", default="", help="drawn on its footage (default cam-<uuid tail>)")
    parser.add_argument("--fps", type=float, default=10.0, help="MJPEG frames a second (0.1-30)")
    args = parser.parse_args(argv)
    many = len(args.ip) > 1
    cameras = [
        Camera(
            ip=ip,
            port=args.port,
            uuid=f"{args.uuid[:-4]}{index:04x}" if many else args.uuid,
            mac=f"{args.mac[:-5]}{index >> 8:02x}:{index & 0xFF:02x}" if many else args.mac,
            scopes=tuple(args.scope) + _name_scope(args.name, index if many else None),
            username=args.username,
            password=args.password,
            mode=args.mode,
            quirks=frozenset(args.quirk),
            clock_skew=args.clock_skew,
            digest_algorithm=args.digest_algorithm,
            name=f"{args.name}-{index}" if args.name and many else args.name,
            fps=min(30.0, max(0.1, args.fps)),
        )
        for index, ip in enumerate(args.ip)
    ]
    return cameras, not args.no_hello, not args.no_discovery


def _name_scope(name: str, index: int | None) -> tuple[str, ...]:
    """A named camera announces its name, as ONVIF cameras do (``onvif://www.onvif.org/name/``)."""
    if not name:
        return ()
    full = f"{name}-{index}" if index is not None else name
    return (f"onvif://www.onvif.org/name/{quote(full, safe='')}",)


if __name__ == "__main__":
    parsed, say_hello, with_discovery = parse_args(sys.argv[1:])
    asyncio.run(main(parsed, say_hello=say_hello, discovery=with_discovery))
