"""WS-Discovery (2005/04) messages: the Probe we send, and the ProbeMatches, Hello and Bye we read.

Pure functions over bytes. Parsing is lenient about namespace versions (elements are found by
local name) and strict about shape: a datagram that is not XML raises ``MalformedMessageError``.
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
    try:
        root = ET.fromstring(data)  # noqa: S314 - expat neither fetches nor expands external entities
    except ET.ParseError as err:
        raise MalformedMessageError(f"not XML: {err}") from None
    if _local(root.tag) != "Envelope":
        raise MalformedMessageError(f"not a SOAP envelope: <{_local(root.tag)}>")
    body = _child(root, "Body")
    if body is None or len(body) == 0:
        raise MalformedMessageError("a SOAP envelope without a body")
    content = body[0]
    kind = _local(content.tag)
    if kind == "ProbeMatches":
        header = _child(root, "Header")
        relates = _text(_child(header, "RelatesTo")) if header is not None else None
        matches = tuple(_endpoint(match) for match in content if _local(match.tag) == "ProbeMatch")
        return ProbeMatches(relates_to=relates, endpoints=matches)
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


def _tokens(element: ET.Element | None) -> tuple[str, ...] | None:
    text = _text(element)
    return None if text is None and element is None else tuple((text or "").split())


def _endpoint_uuid(element: ET.Element) -> str:
    address = _text(_child(_child(element, "EndpointReference"), "Address"))
    if not address:
        raise MalformedMessageError(f"<{_local(element.tag)}> without an EndpointReference address")
    return device_uuid(address)


def _endpoint(element: ET.Element) -> Endpoint:
    return Endpoint(
        uuid=_endpoint_uuid(element),
        xaddrs=_tokens(_child(element, "XAddrs")) or (),
        scopes=_tokens(_child(element, "Scopes")),
        types=_tokens(_child(element, "Types")),
    )
