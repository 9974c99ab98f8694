"""``describeMedia``: a camera's media profiles and their stream and snapshot URIs, as properties.

Beyond upstream, so that a broker need not speak ONVIF. ``GetServices`` on the device service
names the media service (Media 2, ``ver20``, when offered; else Media 1, ``ver10``); its XAddr goes
through the same address policy as a WS-Discovery XAddr. Then ``GetProfiles``, and for each
profile (at most ``MAX_PROFILES``) ``GetStreamUri`` (RTSP over RTP unicast) and ``GetSnapshotUri``.
Requests are small fixed envelopes signed like every other call; replies are read by local names,
with any DTD refused. A URI never carries a credential: user information and credential-like
query parameters are removed. Properties (``<i>`` counts from 0):

``ONVIF_MEDIA_SERVICE`` (``media2`` or ``media1``), ``ONVIF_PROFILE_COUNT``,
``ONVIF_PROFILE_<i>_TOKEN``, ``ONVIF_PROFILE_<i>_NAME``, ``ONVIF_PROFILE_<i>_RESOLUTION``
(``<width>x<height>`` of its video encoder), ``ONVIF_PROFILE_<i>_STREAM_URI``,
``ONVIF_PROFILE_<i>_SNAPSHOT_URI`` (each only when the camera told it).

A failure leaves the properties it could not learn out (the camera stays listed) and is logged
once per URL by the caller's warning; nothing here raises past ``describe_media``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.etree import ElementTree as ET

import structlog

from akri_onvif import soap
from akri_onvif.device_service import Auth, DescriptionError, DeviceService, fault_error, signed
from akri_onvif.xaddrs import xaddr_refusal

log = structlog.get_logger(__name__)

MEDIA1 = "http://www.onvif.org/ver10/media/wsdl"
MEDIA2 = "http://www.onvif.org/ver20/media/wsdl"
SCHEMA = "http://www.onvif.org/ver10/schema"
MAX_PROFILES = 8
MAX_VALUE = 1024
_CREDENTIAL_PARAMETERS = frozenset(
    {"user", "username", "usr", "password", "pass", "passwd", "pwd", "auth", "token", "key"}
)
NO_MEDIA: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Profile:
    token: str
    name: str | None
    resolution: str | None


def strip_credentials(uri: str) -> str:
    """``uri`` without user information and without credential-like query parameters."""
    try:
        parts = urlsplit(uri.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in _CREDENTIAL_PARAMETERS
        ]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))[:MAX_VALUE]


def media_properties(
    service: str, profiles: list[Profile], streams: list[str | None], snapshots: list[str | None]
) -> dict[str, str]:
    """The documented properties from what the camera told (pure)."""
    properties = {"ONVIF_MEDIA_SERVICE": service, "ONVIF_PROFILE_COUNT": str(len(profiles))}
    for index, (profile, stream, snapshot) in enumerate(
        zip(profiles, streams, snapshots, strict=True)
    ):
        prefix = f"ONVIF_PROFILE_{index}_"
        properties[f"{prefix}TOKEN"] = profile.token
        if profile.name:
            properties[f"{prefix}NAME"] = profile.name
        if profile.resolution:
            properties[f"{prefix}RESOLUTION"] = profile.resolution
        if stream:
            properties[f"{prefix}STREAM_URI"] = strip_credentials(stream)
        if snapshot:
            properties[f"{prefix}SNAPSHOT_URI"] = strip_credentials(snapshot)
    return {name: value for name, value in properties.items() if value}


def parse_body(content: bytes) -> ET.Element:
    """The first element of a SOAP Body; ``DescriptionError`` for a fault or a bad document."""
    try:
        answer = soap.body(content)
    except soap.Fault as fault:
        raise fault_error(fault.code, fault.subcodes, fault.reason) from None
    except soap.MalformedReplyError as err:
        raise DescriptionError("malformed", str(err)) from None
    if answer is None:
        raise DescriptionError("malformed", "an empty SOAP Body")
    return answer


def parse_profiles(response: ET.Element) -> list[Profile]:
    """Profiles of a Media 1 or Media 2 ``GetProfilesResponse``."""
    profiles: list[Profile] = []
    for element in response:
        if soap.local(element.tag) != "Profiles" or len(profiles) >= MAX_PROFILES:
            continue
        token = (element.get("token") or "").strip()[:MAX_VALUE]
        if not token:
            continue
        encoder = soap.find(element, "VideoEncoderConfiguration")
        if encoder is None:
            encoder = soap.find(element, "Configurations", "VideoEncoder")
        resolution = None
        if encoder is not None:
            width = soap.text(soap.find(encoder, "Resolution", "Width"))
            height = soap.text(soap.find(encoder, "Resolution", "Height"))
            if width and height and _number(width) and _number(height):
                resolution = f"{int(width)}x{int(height)}"
        profiles.append(
            Profile(token=token, name=soap.text(soap.find(element, "Name")), resolution=resolution)
        )
    return profiles


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 6


def parse_uri(response: ET.Element) -> str | None:
    """``MediaUri/Uri`` (Media 1) or ``Uri`` (Media 2)."""
    return soap.text(soap.find(response, "MediaUri", "Uri")) or soap.text(
        soap.find(response, "Uri")
    )


def _request(version: str, operation: str, token: str | None) -> tuple[str, str]:
    """The body and action of one media request."""
    t = soap.escape(token or "")
    namespace = MEDIA2 if version == "media2" else MEDIA1
    if version == "media2":
        bodies = {
            "GetProfiles": "<tr2:GetProfiles><tr2:Type>All</tr2:Type></tr2:GetProfiles>",
            "GetStreamUri": (
                "<tr2:GetStreamUri><tr2:Protocol>RTSP</tr2:Protocol>"
                f"<tr2:ProfileToken>{t}</tr2:ProfileToken></tr2:GetStreamUri>"
            ),
            "GetSnapshotUri": (
                f"<tr2:GetSnapshotUri><tr2:ProfileToken>{t}</tr2:ProfileToken></tr2:GetSnapshotUri>"
            ),
        }
    else:
        bodies = {
            "GetProfiles": "<trt:GetProfiles/>",
            "GetStreamUri": (
                "<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream>"
                "<tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>"
                f"<trt:ProfileToken>{t}</trt:ProfileToken></trt:GetStreamUri>"
            ),
            "GetSnapshotUri": (
                f"<trt:GetSnapshotUri><trt:ProfileToken>{t}</trt:ProfileToken></trt:GetSnapshotUri>"
            ),
        }
    return bodies[operation], f"{namespace}/{operation}"


class MediaReader:
    """Reads one camera's media description through the device service's HTTP session."""

    def __init__(self, device: DeviceService, *, allow_local: bool) -> None:
        self.device = device
        self.allow_local = allow_local

    async def describe(self, url: str, auth: Auth | None) -> Mapping[str, str]:
        """The media properties of the camera at device service ``url`` (raises
        ``DescriptionError`` when the camera offers no usable media service)."""
        services = await self.device.services(url, auth)
        usable = [
            (version, services[namespace])
            for version, namespace in (("media2", MEDIA2), ("media1", MEDIA1))
            if namespace in services
            and xaddr_refusal(services[namespace], allow_local=self.allow_local) is None
        ]
        if not usable:
            raise DescriptionError("not_supported", "no usable Media service in GetServices")
        version, xaddr = usable[0]
        profiles = parse_profiles(await self._call(xaddr, version, "GetProfiles", None, auth))
        streams: list[str | None] = []
        snapshots: list[str | None] = []
        for profile in profiles:
            streams.append(await self._uri(xaddr, version, "GetStreamUri", profile, auth))
            snapshots.append(await self._uri(xaddr, version, "GetSnapshotUri", profile, auth))
        return MappingProxyType(media_properties(version, profiles, streams, snapshots))

    async def _uri(
        self, xaddr: str, version: str, operation: str, profile: Profile, auth: Auth | None
    ) -> str | None:
        try:
            return parse_uri(await self._call(xaddr, version, operation, profile.token, auth))
        except DescriptionError as err:
            log.debug("onvif_media_uri_failed", url=xaddr[:200], call=operation, kind=err.kind)
            return None

    async def _call(
        self, xaddr: str, version: str, operation: str, token: str | None, auth: Auth | None
    ) -> ET.Element:
        body, action = _request(version, operation, token)
        namespaces = {"trt": MEDIA1, "tr2": MEDIA2, "tt": SCHEMA}
        reply = await self.device.post(xaddr, signed(body, namespaces, auth), action, auth)
        if reply.digest_challenge:
            raise DescriptionError("not_authorized", "HTTP 401 Digest")
        return parse_body(reply.content)
