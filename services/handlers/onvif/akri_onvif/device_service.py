"""ONVIF device-management calls: liveness, the camera's clock, its IP and MAC, its services.

Each request is a small fixed SOAP 1.2 envelope (``soap``), with a WS-Security UsernameToken
digest, its timestamp on the camera's clock, when an ``Auth`` is given; each reply is read by
``soap`` (bounded, no DTD, SOAP 1.1 or 1.2, elements by local name), SOAP faults included. The
bytes travel over ``soap_http`` on the event loop, which answers an HTTP Digest challenge with the
same credential. Each call is bounded by a timeout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Any
from xml.etree import ElementTree as ET

from akri_onvif import soap
from akri_onvif.credentials import Credential
from akri_onvif.soap_http import (
    BadReplyError,
    HttpError,
    HttpReply,
    RefusedAddressError,
    SoapHttp,
    UnsupportedUrlError,
)

DEVICE_NS = "http://www.onvif.org/ver10/device/wsdl"
DEFAULT_CALL_TIMEOUT = 1.0
MAX_INTERFACES = 16
MAX_SERVICES = 32
_FAULT_TEXT_LIMIT = 120
#: The request body of each device-management call Akri makes.
REQUESTS = MappingProxyType(
    {
        "GetSystemDateAndTime": "<tds:GetSystemDateAndTime/>",
        "GetNetworkInterfaces": "<tds:GetNetworkInterfaces/>",
        "GetServices": (
            "<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>"
        ),
    }
)


class DescriptionError(Exception):
    """A device-service call failed. ``kind`` says how: ``unreachable`` (no HTTP exchange; it may
    come back), ``unsupported`` (not an ``http://`` URL), ``refused`` (the host resolves to a
    refused address), ``malformed`` (not a SOAP reply), ``not_supported`` (the camera does not
    offer the operation), ``fault`` (another SOAP fault or HTTP error) or ``not_authorized``.

    For ``not_authorized``, ``challenge`` tells how the camera asked: ``digest`` (a 401 offering
    HTTP Digest), ``soap`` (a SOAP ``NotAuthorized`` fault: an ONVIF device that wants a
    UsernameToken) or None (neither: no credential is sent). ``camera_time`` is the reply's HTTP
    ``Date``, when it had one (the camera's clock, for the UsernameToken timestamp)."""

    def __init__(
        self,
        kind: str,
        detail: str,
        *,
        challenge: str | None = None,
        camera_time: datetime | None = None,
    ) -> None:
        self.kind = kind
        self.detail = detail
        self.challenge = challenge
        self.camera_time = camera_time
        super().__init__(f"{kind}: {detail}")


@dataclass(frozen=True)
class NetworkFacts:
    """What describing one service URL told: the first IPv4 address and the first MAC address
    (``GetNetworkInterfaces``, or the XAddr's host without a MAC when the camera lacks that call),
    and, with ``describeMedia``, the media properties (``media``)."""

    ip: str | None
    mac: str | None
    media: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Auth:
    """A credential as one service URL gets it: a UsernameToken stamped on the camera's clock
    (local time + ``clock_offset``), and ``digest``, that URL's own ``digest.DigestAuth``
    (None when the username cannot be used for Digest)."""

    credential: Credential
    digest: Any = None
    clock_offset: timedelta = timedelta(0)


def new_auth(credential: Credential, clock_offset: timedelta = timedelta(0)) -> Auth:
    """An ``Auth`` with a fresh ``DigestAuth`` (scoped to the first origin it is used for)."""
    from akri_onvif.digest import DigestAuth  # noqa: PLC0415 - with soap_http, already loaded

    try:
        digest = DigestAuth(credential.username, credential.password)
    except ValueError:  # a ':' in the username: Digest cannot carry it, the UsernameToken can
        digest = None
    return Auth(credential=credential, digest=digest, clock_offset=clock_offset)


class DeviceService:
    """The ONVIF device service of any camera, over one HTTP session."""

    def __init__(self, http: SoapHttp, *, call_timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self.http = http
        self.call_timeout = call_timeout

    async def system_time(self, url: str, auth: Auth | None) -> datetime | None:
        """``GetSystemDateAndTime`` (without credentials first, as ONVIF allows): the camera's UTC
        clock, or None when its answer has no usable time; ``DescriptionError`` unless it
        answers HTTP 200 with a valid reply."""
        answer = await self.call(url, "GetSystemDateAndTime", auth)
        return camera_utc(answer)

    async def network_facts(self, url: str, auth: Auth | None) -> NetworkFacts:
        """``GetNetworkInterfaces`` (with a UsernameToken and Digest when given ``auth``)."""
        answer = await self.call(url, "GetNetworkInterfaces", auth)
        return facts_from_interfaces(soap.children(answer, "NetworkInterfaces"))

    async def services(self, url: str, auth: Auth | None) -> dict[str, str]:
        """``GetServices``: each offered service's namespace and XAddr."""
        answer = await self.call(url, "GetServices", auth)
        found: dict[str, str] = {}
        for index, service in enumerate(soap.children(answer, "Service")):
            if index >= MAX_SERVICES:
                break
            namespace = soap.text(soap.find(service, "Namespace"))
            xaddr = soap.text(soap.find(service, "XAddr"))
            if namespace and xaddr:
                found.setdefault(namespace, xaddr)
        return found

    async def call(self, url: str, operation: str, auth: Auth | None) -> ET.Element:
        """One device-management call: the reply's ``<operation>Response`` element."""
        reply = await self.post(
            url,
            signed(REQUESTS[operation], {"tds": DEVICE_NS}, auth),
            f"{DEVICE_NS}/{operation}",
            auth,
        )
        return read_reply(operation, reply)

    async def post(self, url: str, body: bytes, action: str, auth: Auth | None) -> HttpReply:
        """POSTs one SOAP request; transport failures become ``DescriptionError``."""
        try:
            return await self.http.post(
                url,
                body,
                headers=soap.content_type(action),
                timeout=self.call_timeout,
                digest=None if auth is None else auth.digest,
            )
        except UnsupportedUrlError as err:
            raise DescriptionError("unsupported", str(err)) from None
        except RefusedAddressError as err:
            raise DescriptionError("refused", str(err)) from None
        except BadReplyError as err:
            raise DescriptionError("malformed", str(err)) from None
        except HttpError as err:
            raise DescriptionError("unreachable", str(err)) from None


def read_reply(operation: str, reply: HttpReply) -> ET.Element:
    """The ``<operation>Response`` element of ``reply``, or the ``DescriptionError`` it means
    (a Digest challenge, a SOAP fault, another HTTP error, not SOAP, the wrong or no answer).
    Each error carries the reply's HTTP ``Date`` as the camera's clock, when it had one."""
    try:
        return _read_reply(operation, reply)
    except DescriptionError as error:
        error.camera_time = http_date(reply.headers.get("Date"))
        raise


def _read_reply(operation: str, reply: HttpReply) -> ET.Element:
    status = reply.status_code
    if reply.digest_challenge:
        raise DescriptionError("not_authorized", "HTTP 401 Digest", challenge="digest")
    unauthorized = DescriptionError(
        "not_authorized", "HTTP 401 without a Digest challenge or a SOAP fault"
    )
    if status != 200 and not reply.content.strip():
        if status == 401:
            raise unauthorized
        raise DescriptionError("fault", f"HTTP {status} without content")
    try:
        answer = soap.body(reply.content)
    except soap.Fault as fault:
        raise fault_error(fault.code, fault.subcodes, fault.reason) from None
    except soap.MalformedReplyError as err:
        if status == 401:
            raise unauthorized from None
        raise DescriptionError("malformed", f"HTTP {status}, {err}") from None
    if status != 200:
        if status == 401:
            raise unauthorized
        raise DescriptionError("fault", f"HTTP {status} without a SOAP fault")
    if answer is None:
        raise DescriptionError("malformed", "an empty SOAP Body")
    name = soap.local(answer.tag)
    if name != f"{operation}Response":
        raise DescriptionError("malformed", f"{name[:60]} in reply to {operation}")
    return answer


def signed(body: str, namespaces: dict[str, str], auth: Auth | None) -> bytes:
    """A SOAP envelope around ``body``, with a UsernameToken digest stamped on the camera's clock
    when ``auth`` is given."""
    token = None
    if auth is not None:
        token = soap.Token(
            username=auth.credential.username,
            password=auth.credential.password,
            created=datetime.now(UTC) + auth.clock_offset,
        )
    return soap.envelope(body, namespaces, token)


def http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def camera_utc(answer: ET.Element | None) -> datetime | None:
    """The camera's UTC time from a ``GetSystemDateAndTimeResponse``, or None."""
    utc = soap.find(answer, "SystemDateAndTime", "UTCDateTime")
    fields = [
        soap.text(soap.find(utc, part, name))
        for part, name in (
            ("Date", "Year"),
            ("Date", "Month"),
            ("Date", "Day"),
            ("Time", "Hour"),
            ("Time", "Minute"),
            ("Time", "Second"),
        )
    ]
    numbers = [
        int(f) for f in fields if f is not None and f.isascii() and f.isdigit() and len(f) <= 4
    ]
    if len(numbers) != len(fields):
        return None
    year, month, day, hour, minute, second = numbers
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def fault_error(code: str, subcodes: Iterable[str], message: str) -> DescriptionError:
    """A ``DescriptionError`` for a SOAP fault: ``not_authorized`` for ``ter:NotAuthorized``."""
    names = [name.rsplit(":", 1)[-1] for name in subcodes]
    text = " ".join(message.split())[:_FAULT_TEXT_LIMIT]
    if "NotAuthorized" in names:
        return DescriptionError(
            "not_authorized", f"SOAP fault NotAuthorized {text}".strip(), challenge="soap"
        )
    kind = (
        "not_supported" if {"ActionNotSupported", "ActionNotImplemented"} & set(names) else "fault"
    )
    code_text = " ".join(code.split())[:40]
    return DescriptionError(kind, f"SOAP fault {code_text} {'/'.join(names)} {text}".strip())


def facts_from_interfaces(interfaces: Iterable[ET.Element]) -> NetworkFacts:
    """The first IPv4 address (Manual, then LinkLocal, then FromDHCP, as in the document) and the
    first hardware address across the reported interfaces (at most ``MAX_INTERFACES``)."""
    ip: str | None = None
    mac: str | None = None
    for index, interface in enumerate(interfaces):
        if index >= MAX_INTERFACES:
            break
        if mac is None:
            mac = soap.text(soap.find(interface, "Info", "HwAddress"))
        config = soap.find(interface, "IPv4", "Config")
        if ip is None and config is not None:
            candidates = [
                *soap.children(config, "Manual"),
                soap.find(config, "LinkLocal"),
                soap.find(config, "FromDHCP"),
            ]
            ip = next(
                (a for a in (soap.text(soap.find(c, "Address")) for c in candidates) if a), None
            )
    return NetworkFacts(ip=ip, mac=mac)
