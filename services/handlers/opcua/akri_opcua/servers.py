"""What the handler learns about OPC UA servers, and the decisions upstream makes about them.

Plain frozen values (``Application``: an ``ApplicationDescription`` from ``FindServers``;
``Endpoint``: an ``EndpointDescription`` from ``GetEndpoints``) and pure functions:

* ``wanted``: application type Server or ClientAndServer, and the ``applicationNames`` filter with
  upstream's ``should_include`` (``Include`` keeps listed names only, so an empty ``Include`` keeps
  nothing; ``Exclude`` drops listed names, so an empty ``Exclude`` keeps everything).
* ``chosen_url``: the first discovery URL starting with ``opc.tcp``, else the first one.
* ``rebuilt_on``: the URL with its host replaced by the discovery URL's host, for a server that
  advertises a host name that does not resolve (upstream issue #555, PR #570).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from akri_opcua.details import FilterAction, FilterList, OpcuaDetails

OPC_TCP_PREFIX = "opc.tcp"


class ApplicationKind(enum.Enum):
    """OPC UA ``ApplicationType`` (Part 4, 7.4)."""

    SERVER = 0
    CLIENT = 1
    CLIENT_AND_SERVER = 2
    DISCOVERY_SERVER = 3


SERVER_KINDS = frozenset({ApplicationKind.SERVER, ApplicationKind.CLIENT_AND_SERVER})


@dataclass(frozen=True)
class Application:
    """One ``ApplicationDescription`` as ``FindServers`` returns it."""

    uri: str
    product_uri: str
    name: str
    kind: ApplicationKind
    discovery_urls: tuple[str, ...]


@dataclass(frozen=True)
class Endpoint:
    """One ``EndpointDescription``: its URL, security mode and policy (short name, ``None``...)."""

    url: str
    security_mode: str
    security_policy: str


def should_include(filter_list: FilterList | None, name: str) -> bool:
    """Upstream's ``should_include``: no filter keeps; otherwise exact membership decides."""
    if filter_list is None:
        return True
    listed = name in filter_list.items
    return listed if filter_list.action is FilterAction.INCLUDE else not listed


def wanted(details: OpcuaDetails, application: Application) -> bool:
    """A server (or client-and-server) that passes the ``applicationNames`` filter."""
    return application.kind in SERVER_KINDS and should_include(
        details.application_names, application.name
    )


def chosen_url(application: Application) -> str | None:
    """The URL the device is known by: the first ``opc.tcp`` discovery URL, else the first."""
    for url in application.discovery_urls:
        if url.startswith(OPC_TCP_PREFIX):
            return url
    return application.discovery_urls[0] if application.discovery_urls else None


def host_of(url: str) -> str | None:
    """The host name of a URL (None when it has none or is not a URL)."""
    try:
        return urlsplit(url).hostname or None
    except ValueError:
        return None


def rebuilt_on(url: str, discovery_url: str) -> str:
    """``url`` with its host replaced by ``discovery_url``'s host (port, path and scheme kept)."""
    parts = urlsplit(url)
    new_host = urlsplit(discovery_url).hostname
    if not new_host:
        return url
    if ":" in new_host:  # an IPv6 literal
        new_host = f"[{new_host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = new_host if port is None else f"{new_host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def rebuilt_if_unresolved(url: str, *, unresolved: str | None, discovery_url: str) -> str:
    """``url`` rebuilt on the discovery URL's host when its host is the ``unresolved`` one."""
    if unresolved is not None and host_of(url) == unresolved:
        return rebuilt_on(url, discovery_url)
    return url


def distinct(values: Iterable[str]) -> tuple[str, ...]:
    """The values in first-seen order, each once."""
    return tuple(dict.fromkeys(values))
