"""The device list the handler reports: upstream's id and property plus the documented extras.

A ``Found`` server is one that ``FindServers`` listed, that passed the filters, and that answered
``GetEndpoints`` just now (so it is alive). Its device has upstream's id (the chosen discovery URL)
and ``OPCUA_DISCOVERY_URL``, and, beyond upstream, what a broker needs to connect without asking
again: the application's name, URI and product URI, the endpoint URLs and the security modes and
policies offered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from akri_common.devices import Device
from akri_opcua.servers import Application, Endpoint, distinct

DISCOVERY_URL = "OPCUA_DISCOVERY_URL"
APPLICATION_NAME = "OPCUA_APPLICATION_NAME"
APPLICATION_URI = "OPCUA_APPLICATION_URI"
PRODUCT_URI = "OPCUA_PRODUCT_URI"
ENDPOINT_URLS = "OPCUA_ENDPOINT_URLS"
SECURITY_MODES = "OPCUA_SECURITY_MODES"
SECURITY_POLICIES = "OPCUA_SECURITY_POLICIES"

#: Security modes listed weakest first, as OPC UA numbers them.
MODE_ORDER = ("None", "Sign", "SignAndEncrypt")


@dataclass(frozen=True)
class Found:
    """A live server: the URL it is reported by, its application and its endpoints."""

    url: str
    application: Application
    endpoints: tuple[Endpoint, ...]


def device_for(found: Found) -> Device:
    """The device of one live server; list-valued properties are comma-separated."""
    application = found.application
    modes = {endpoint.security_mode for endpoint in found.endpoints}
    properties = {
        DISCOVERY_URL: found.url,
        APPLICATION_NAME: application.name,
        APPLICATION_URI: application.uri,
        PRODUCT_URI: application.product_uri,
        ENDPOINT_URLS: ",".join(distinct(e.url for e in found.endpoints)),
        SECURITY_MODES: ",".join(
            [m for m in MODE_ORDER if m in modes] + sorted(modes - set(MODE_ORDER))
        ),
        SECURITY_POLICIES: ",".join(distinct(e.security_policy for e in found.endpoints)),
    }
    return Device(
        id=found.url,
        properties={key: value for key, value in properties.items() if value},
    )


def device_list(found: Iterable[Found]) -> tuple[Device, ...]:
    """One device per URL (the first found wins when two discovery URLs list the same server),
    sorted by id."""
    by_url: dict[str, Device] = {}
    for server in found:
        by_url.setdefault(server.url, device_for(server))
    return tuple(by_url[url] for url in sorted(by_url))
