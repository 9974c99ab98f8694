"""What the handler knows about cameras, and the device list it reports: pure values and decisions.

A ``Camera`` is an endpoint that answered (a ProbeMatch or a Hello) together with the facts of
each of its device service URLs that is alive. ``device_list`` applies the Configuration's filters
and builds upstream's devices: one per alive service URL, id ``<service-url>-<uuid>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import unquote

from akri_common.devices import Device
from akri_onvif.details import OnvifDetails
from akri_onvif.device_service import NetworkFacts
from akri_onvif.filters import passes, passes_description, passes_discovery, same, single
from akri_onvif.messages import Endpoint

SERVICE_URL = "ONVIF_DEVICE_SERVICE_URL"
DEVICE_UUID = "ONVIF_DEVICE_UUID"
IP_ADDRESS = "ONVIF_DEVICE_IP_ADDRESS"
MAC_ADDRESS = "ONVIF_DEVICE_MAC_ADDRESS"
DEVICE_NAME = "ONVIF_DEVICE_NAME"
NAME_SCOPE = "onvif://www.onvif.org/name/"
MAX_NAME = 64
UNKNOWN = NetworkFacts(ip=None, mac=None)


@dataclass(frozen=True)
class Camera:
    """An endpoint and the facts of each of its alive service URLs (in the endpoint's order)."""

    endpoint: Endpoint
    services: Mapping[str, NetworkFacts] = field(default_factory=lambda: MappingProxyType({}))


def wanted(details: OnvifDetails, endpoint: Endpoint) -> bool:
    """Whether an endpoint is worth describing (the scope and uuid filters pass)."""
    return passes_discovery(details, uuid=endpoint.uuid, scopes=endpoint.scopes)


def needs_network_facts(previous: Camera | None, url: str) -> bool:
    """Whether ``GetNetworkInterfaces`` must be asked again: a new URL, or its IP and MAC unknown."""
    if previous is None or url not in previous.services:
        return True
    return previous.services[url] == UNKNOWN


def device_for(url: str, uuid: str, facts: NetworkFacts, *, name: str | None = None) -> Device:
    """Upstream's device: id ``<service-url>-<uuid>``, IP and MAC properties when known (and the
    media properties and the announced name when described)."""
    properties = {**facts.media, SERVICE_URL: url, DEVICE_UUID: uuid}
    if facts.ip is not None:
        properties[IP_ADDRESS] = facts.ip
    if facts.mac is not None:
        properties[MAC_ADDRESS] = facts.mac
    if name is not None:
        properties[DEVICE_NAME] = name
    return Device(id=f"{url}-{uuid}", properties=properties)


def announced_name(scopes: tuple[str, ...] | None) -> str | None:
    """The name a camera announces in its ``onvif://www.onvif.org/name/<name>`` scope (ONVIF Core
    7.3.2.2), percent-decoded, printable characters only, at most ``MAX_NAME`` of them."""
    for scope in scopes or ():
        if scope.startswith(NAME_SCOPE):
            raw = scope[len(NAME_SCOPE) : len(NAME_SCOPE) + 3 * MAX_NAME]
            text = "".join(c for c in unquote(raw) if c.isprintable()).strip()[:MAX_NAME]
            if text:
                return text
    return None


def device_list(details: OnvifDetails, cameras: Iterable[Camera]) -> tuple[Device, ...]:
    """Every alive service URL of every camera that passes all filters, sorted by id."""
    devices = [
        device_for(
            url,
            camera.endpoint.uuid,
            facts,
            name=announced_name(camera.endpoint.scopes) if details.describe_media else None,
        )
        for camera in cameras
        if wanted(details, camera.endpoint)
        for url, facts in camera.services.items()
        if passes_description(details, ip=facts.ip, mac=facts.mac)
    ]
    return tuple(sorted(devices, key=lambda device: device.id))


def filtered_by(details: OnvifDetails, endpoint: Endpoint, facts: NetworkFacts) -> str | None:
    """The name of the first filter that drops this camera URL, or None when it is listed."""
    checks = (
        ("scopes", passes(details.scopes, endpoint.scopes, same)),
        ("uuids", passes(details.uuids, (endpoint.uuid,))),
        ("ipAddresses", passes(details.ip_addresses, single(facts.ip))),
        ("macAddresses", passes(details.mac_addresses, single(facts.mac))),
    )
    return next((name for name, passed in checks if not passed), None)


def silent_after_round(known: Iterable[str], answered: Iterable[str]) -> frozenset[str]:
    """The uuids of known cameras that neither answered the probe nor said Hello during its round."""
    return frozenset(known) - frozenset(answered)
