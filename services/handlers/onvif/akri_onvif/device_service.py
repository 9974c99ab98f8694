"""ONVIF device-management calls through zeep: liveness, the camera's clock, its IP and MAC.

zeep builds each request from the vendored ``devicemgmt.wsdl`` (adding a WS-Security UsernameToken
digest, its timestamp on the camera's clock, when an ``Auth`` is given) and parses each reply, SOAP
faults included; the bytes travel over ``soap_http`` (aiohttp) on the event loop, which answers an
HTTP Digest challenge with the same credential. Each call is bounded by a timeout. SOAP 1.1 replies
are read as well as SOAP 1.2 ones. The WSDL is parsed once per process, on first use, so that a
handler that is never asked to discover does not pay for zeep.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from xml.etree import ElementTree as ET

from akri_onvif.credentials import Credential
from akri_onvif.soap_http import (
    BadReplyError,
    HttpError,
    HttpReply,
    RefusedAddressError,
    SoapHttp,
    UnsupportedUrlError,
)

WSDL = Path(__file__).parent / "wsdl" / "devicemgmt.wsdl"
DEVICE_WSDL_NS = "http://www.onvif.org/ver10/device/wsdl"
BINDING = f"{{{DEVICE_WSDL_NS}}}DeviceBinding"
PLACEHOLDER_ADDRESS = "http://camera.invalid/onvif/device_service"
DEFAULT_CALL_TIMEOUT = 1.0
SOAP11 = b"http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = b"http://www.w3.org/2003/05/soap-envelope"
_FAULT_TEXT_LIMIT = 120


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
    """The ONVIF device service of any camera, through one parsed WSDL and one HTTP session."""

    def __init__(self, http: SoapHttp, *, call_timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self.http = http
        self.call_timeout = call_timeout
        self._zeep = _load_client()

    async def system_time(self, url: str, auth: Auth | None) -> datetime | None:
        """``GetSystemDateAndTime`` (without credentials first, as ONVIF allows): the camera's UTC
        clock, or None when its answer has no usable time; ``DescriptionError`` unless it
        answers HTTP 200 with a valid reply."""
        answer = await self.call(url, "GetSystemDateAndTime", auth)
        if answer is None:
            raise DescriptionError("malformed", "an empty SOAP Body")
        return camera_utc(answer)

    async def network_facts(self, url: str, auth: Auth | None) -> NetworkFacts:
        """``GetNetworkInterfaces`` (with a UsernameToken and Digest when given ``auth``)."""
        interfaces = await self.call(url, "GetNetworkInterfaces", auth)
        return facts_from_interfaces(interfaces or ())

    async def services(self, url: str, auth: Auth | None) -> dict[str, str]:
        """``GetServices``: each offered service's namespace and XAddr."""
        answer = await self.call(url, "GetServices", auth, IncludeCapability=False)
        found: dict[str, str] = {}
        for service in (answer or ())[:32]:
            namespace = getattr(service, "Namespace", None)
            xaddr = getattr(service, "XAddr", None)
            if isinstance(namespace, str) and isinstance(xaddr, str):
                found.setdefault(namespace.strip(), xaddr.strip())
        return found

    async def call(self, url: str, operation: str, auth: Auth | None, **arguments: Any) -> Any:
        body, headers = self._zeep.request(operation, auth, **arguments)
        try:
            reply = await self.http.post(
                url,
                body,
                headers=headers,
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
        return self._zeep.reply(operation, reply)


class _ZeepDevice:
    """zeep's client and binding for ``devicemgmt.wsdl``, used to build and read messages only."""

    def __init__(self) -> None:
        import zeep  # noqa: PLC0415 - loaded on first use to keep an idle handler small
        from zeep.transports import Transport  # noqa: PLC0415

        class OfflineTransport(Transport):  # type: ignore[misc]
            """Loads only the vendored files: a WSDL import over the network is refused."""

            def load(self, url: str) -> bytes:
                if "://" in url and not url.startswith("file://"):
                    raise OSError(f"refusing to fetch {url} (the WSDL is vendored)")
                return super().load(url)  # type: ignore[no-any-return]

        # zeep's own debug records (every schema type, every document) would drown the handler's.
        logging.getLogger("zeep").setLevel(max(logging.INFO, logging.getLogger().level))
        settings = zeep.Settings(strict=False, forbid_dtd=True, forbid_entities=True)
        self.client = zeep.Client(str(WSDL), transport=OfflineTransport(), settings=settings)
        self.binding = self.client.wsdl.bindings[BINDING]
        self.service = self.client.create_service(BINDING, PLACEHOLDER_ADDRESS)

    def request(
        self, operation: str, auth: Auth | None, **arguments: Any
    ) -> tuple[bytes, dict[str, str]]:
        envelope = self.client.create_message(self.service, operation, **arguments)
        return signed(envelope, auth), soap_headers(f"{DEVICE_WSDL_NS}/{operation}")

    def reply(self, operation: str, reply: HttpReply) -> Any:
        from lxml.etree import LxmlError  # noqa: PLC0415
        from zeep.exceptions import Error, Fault, TransportError  # noqa: PLC0415

        camera_time = http_date(reply.headers.get("Date"))
        if reply.digest_challenge:
            raise DescriptionError(
                "not_authorized", "HTTP 401 Digest", challenge="digest", camera_time=camera_time
            )
        if SOAP11 in reply.content:  # a SOAP 1.1 reply: its fault by hand, the rest as 1.2
            legacy = soap11_fault(reply.content)
            if legacy is not None:
                legacy.camera_time = camera_time
                raise legacy
            content = reply.content.replace(SOAP11, SOAP12)
            reply = HttpReply(reply.status_code, content, reply.headers, reply.encoding)
        try:
            return self.binding.process_reply(self.client, self.binding.get(operation), reply)
        except Fault as fault:
            error = fault_error(fault.code, fault.subcodes, fault.message)
            error.camera_time = camera_time
            raise error from None
        except TransportError as err:
            if reply.status_code == 401:
                raise DescriptionError(
                    "not_authorized", "HTTP 401 without a Digest challenge or a SOAP fault"
                ) from None
            kind = "malformed" if err.content is not None else "fault"
            raise DescriptionError(
                kind, f"HTTP {reply.status_code}, invalid or empty XML"
            ) from None
        except IndexError:
            raise DescriptionError("malformed", "an empty or incomplete SOAP Body") from None
        except (Error, LxmlError, ValueError, AttributeError, TypeError, LookupError) as err:
            raise DescriptionError("malformed", f"{type(err).__name__}") from None


@functools.cache
def _load_client() -> _ZeepDevice:
    return _ZeepDevice()


def signed(envelope: Any, auth: Auth | None) -> bytes:
    """An lxml SOAP envelope as bytes, with a UsernameToken digest stamped on the camera's clock
    when ``auth`` is given."""
    from lxml import etree  # noqa: PLC0415
    from zeep.wsse.username import UsernameToken  # noqa: PLC0415

    if auth is not None:
        created = datetime.now(UTC) + auth.clock_offset
        token = UsernameToken(
            auth.credential.username,
            auth.credential.password,
            use_digest=True,
            created=created.replace(tzinfo=None),
            zulu_timestamp=True,
        )
        envelope, _ = token.apply(envelope, {})
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")  # type: ignore[no-any-return]


def soap_headers(action: str) -> dict[str, str]:
    return {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}


def http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def camera_utc(answer: Any) -> datetime | None:
    """The camera's UTC time from a ``GetSystemDateAndTime`` answer, or None."""
    utc: Any = getattr(answer, "UTCDateTime", None)
    date: Any = getattr(utc, "Date", None)
    time: Any = getattr(utc, "Time", None)
    try:
        return datetime(
            int(date.Year),
            int(date.Month),
            int(date.Day),
            int(time.Hour),
            int(time.Minute),
            int(time.Second),
            tzinfo=UTC,
        )
    except (AttributeError, TypeError, ValueError, OverflowError):
        return None


def soap11_fault(content: bytes) -> DescriptionError | None:
    """A ``DescriptionError`` for a SOAP 1.1 fault (``faultcode``/``faultstring``), else None."""
    if SOAP11 not in content or b"<!DOCTYPE" in content.upper():
        return None
    try:
        root = ET.fromstring(content)  # noqa: S314 - no DTD (checked above)
    except ET.ParseError:
        return None
    fault = root.find(f"{{{SOAP11.decode()}}}Body/{{{SOAP11.decode()}}}Fault")
    if fault is None:
        return None
    code = (fault.findtext("faultcode") or "").strip()
    text = fault.findtext("faultstring") or ""
    return fault_error(code, [code], text)


def fault_error(code: Any, subcodes: Iterable[Any] | None, message: Any) -> DescriptionError:
    """A ``DescriptionError`` for a SOAP fault: ``not_authorized`` for ``ter:NotAuthorized``."""
    names = [getattr(q, "localname", str(q)).rsplit(":", 1)[-1] for q in subcodes or ()]
    text = " ".join(str(message or "").split())[:_FAULT_TEXT_LIMIT]
    if "NotAuthorized" in names:
        return DescriptionError(
            "not_authorized", f"SOAP fault NotAuthorized {text}".strip(), challenge="soap"
        )
    kind = (
        "not_supported" if {"ActionNotSupported", "ActionNotImplemented"} & set(names) else "fault"
    )
    code_text = " ".join(str(code or "").split())[:40]
    return DescriptionError(kind, f"SOAP fault {code_text} {'/'.join(names)} {text}".strip())


def facts_from_interfaces(interfaces: Iterable[Any]) -> NetworkFacts:
    """The first IPv4 address (Manual, then LinkLocal, then FromDHCP, as in the document) and the
    first hardware address across the reported interfaces."""
    ip: str | None = None
    mac: str | None = None
    for interface in interfaces:
        if mac is None:
            mac = _clean(getattr(getattr(interface, "Info", None), "HwAddress", None))
        config = getattr(getattr(interface, "IPv4", None), "Config", None)
        if ip is None and config is not None:
            candidates = [
                *(getattr(config, "Manual", None) or ()),
                getattr(config, "LinkLocal", None),
                getattr(config, "FromDHCP", None),
            ]
            ip = next(
                (a for a in (_clean(getattr(c, "Address", None)) for c in candidates) if a), None
            )
    return NetworkFacts(ip=ip, mac=mac)


def _clean(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()
