"""WS-Discovery (2005/04) messages: the Probe we send, and the ProbeMatches, Hello and Bye we read.

Pure functions over bytes. Parsing is lenient where cameras in the field differ and it is safe:
SOAP 1.1 or 1.2, the 2004/08 or 2005/08 WS-Addressing namespaces (elements are found by local
name), a ``ProbeMatch`` straight in the Body without its ``ProbeMatches`` wrapper, several matches
in one reply, ``XAddrs`` split on any whitespace, no ``Types``. It is strict about shape and size:
a datagram that is not XML, or carries a DTD (entity tricks), raises ``MalformedMessageError``, and
one datagram yields at most ``MAX_ENDPOINTS`` endpoints of at most ``MAX_XADDRS`` URLs and
``MAX_SCOPES`` scopes each, so one datagram can cause only a bounded amount of work.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from xml.etree import ElementTree as ET

MULTICAST_GROUP = "239.255.255.250"
MULTICAST_PORT = 3702
SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DISCOVERY_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
PROBE_ACTION = f"{WSD}/Probe"
ONVIF_NETWORK = "http://www.onvif.org/ver10/network/wsdl"
VIDEO_TRANSMITTER = "NetworkVideoTransmitter"
MAX_DATAGRAM = 65535
#: Bounds on what one datagram may ask of the handler (a camera has one endpoint and a few URLs).
MAX_ENDPOINTS = 8
MAX_XADDRS = 16
MAX_SCOPES = 64
MAX_TOKEN = 512


class MalformedMessageError(ValueError):
    """A datagram that is not a WS-Discovery SOAP envelope; ignoring it is all one can do."""


@dataclass(frozen=True)
class Endpoint:
    """One device as WS-Discovery describes it: uuid, device service URLs, scopes and types.

    ``scopes`` and ``types`` are None when the message did not carry them (unknown).
    """

    uuid: str
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ProbeMatches:
    relates_to: str | None
    endpoints: tuple[Endpoint, ...]


@dataclass(frozen=True)
class Hello:
    endpoint: Endpoint


@dataclass(frozen=True)
class Bye:
    uuid: str


Message = ProbeMatches | Hello | Bye


def build_probe(message_id: str | None = None) -> tuple[str, bytes]:
    """A Probe for ONVIF ``NetworkVideoTransmitter``s: (its MessageID, the datagram).

    Unlike upstream's (issue #486), the ``dn`` prefix of the type is declared.
    """
    mid = message_id or f"uuid:{uuidlib.uuid4()}"
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="{ONVIF_NETWORK}">'
        "<s:Header>"
        f"<a:Action>{PROBE_ACTION}</a:Action>"
        f"<a:MessageID>{mid}</a:MessageID>"
        f"<a:To>{DISCOVERY_TO}</a:To>"
        "</s:Header>"
        f"<s:Body><d:Probe><d:Types>dn:{VIDEO_TRANSMITTER}</d:Types></d:Probe></s:Body>"
        "</s:Envelope>"
    )
    return mid, text.encode()


def device_uuid(address: str) -> str:
    """The uuid of an EndpointReference address: ``urn:`` and ``uuid:`` stripped, lower-cased."""
    text = address.strip()
    for prefix in ("urn:", "uuid:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    return text.lower()


def is_video_transmitter(endpoint: Endpoint) -> bool:
    """True unless the endpoint lists its types and none is ``NetworkVideoTransmitter``."""
    if endpoint.types is None:
        return True
    return any(t.rsplit(":", 1)[-1] == VIDEO_TRANSMITTER for t in endpoint.types)


def parse_message(data: bytes) -> Message | None:
    """The ProbeMatches, Hello or Bye in ``data``; None for any other message (a Probe, a Resolve)."""
    if len(data) > MAX_DATAGRAM:
        raise MalformedMessageError(f"a datagram of {len(data)} bytes")
    if b"<!DOCTYPE" in data.upper():
        # Entity definitions (expansion bombs, external entities) have no place in WS-Discovery.
        raise MalformedMessageError("a DTD in the datagram")
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DTD can reach here (checked above)
    except ET.ParseError as err:
        raise MalformedMessageError(f"not XML: {err}") from None
    if _local(root.tag) != "Envelope":
        raise MalformedMessageError(f"not a SOAP envelope: <{_local(root.tag)[:40]}>")
    body = _child(root, "Body")
    if body is None or len(body) == 0:
        raise MalformedMessageError("a SOAP envelope without a body")
    content = body[0]
    kind = _local(content.tag)
    if kind in ("ProbeMatches", "ProbeMatch"):
        header = _child(root, "Header")
        relates = _text(_child(header, "RelatesTo")) if header is not None else None
        # Some cameras put their ProbeMatch elements straight in the Body.
        container = body if kind == "ProbeMatch" else content
        matches = [match for match in container if _local(match.tag) == "ProbeMatch"]
        endpoints = tuple(_endpoint(match) for match in matches[:MAX_ENDPOINTS])
        return ProbeMatches(relates_to=relates, endpoints=endpoints)
    if kind == "Hello":
        return Hello(endpoint=_endpoint(content))
    if kind == "Bye":
        return Bye(uuid=_endpoint_uuid(content))
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element | None, name: str) -> ET.Element | None:
    if element is None:
        return None
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _text(element: ET.Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip()


def _tokens(element: ET.Element | None, limit: int) -> tuple[str, ...] | None:
    """Whitespace-separated tokens (newlines and runs of spaces included), deduplicated in order,
    at most ``limit`` of them and none longer than ``MAX_TOKEN``; None when the element is absent."""
    if element is None:
        return None
    tokens = [t for t in (element.text or "").split() if len(t) <= MAX_TOKEN]
    return tuple(dict.fromkeys(tokens))[:limit]


def _endpoint_uuid(element: ET.Element) -> str:
    address = _text(_child(_child(element, "EndpointReference"), "Address"))
    if not address or len(address) > MAX_TOKEN:
        raise MalformedMessageError(f"<{_local(element.tag)}> without an EndpointReference address")
    return device_uuid(address)


def _endpoint(element: ET.Element) -> Endpoint:
    return Endpoint(
        uuid=_endpoint_uuid(element),
        xaddrs=_tokens(_child(element, "XAddrs"), MAX_XADDRS) or (),
        scopes=_tokens(_child(element, "Scopes"), MAX_SCOPES),
        types=_tokens(_child(element, "Types"), MAX_SCOPES),
    )
