"""Which device service URLs (``XAddrs``) the handler may talk to: a pure policy over URLs.

Anyone on a camera network can send a ProbeMatch or a Hello, so an XAddr is a request to make a
connection, and with a credential. Refused by default, because they are never a camera on the
camera network and are the classic targets of such a request: loopback (the handler's own node),
link-local (``169.254.169.254`` is the cloud metadata service; ``fe80::/10``), unspecified
(``0.0.0.0``, ``::``) and multicast or broadcast addresses. ``ONVIF_ALLOW_LOCAL_XADDRS=true`` allows
loopback and link-local (a lab, a camera that really has only a link-local address). A host name is
checked again after it is resolved (``address_refusal`` on each resolved address). Only
``http://`` URLs are used; ``MAX_USABLE_XADDRS`` of them per camera.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_USABLE_XADDRS = 4
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


@dataclass(frozen=True)
class Refusal:
    """Why an XAddr is not used: ``reason`` is a short fixed word, ``url`` the XAddr (bounded)."""

    url: str
    reason: str


def address_refusal(address: str, *, allow_local: bool) -> str | None:
    """The reason an IP address literal is refused, or None when it may be contacted."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_multicast or ip == _BROADCAST:
        return "multicast or broadcast address"
    if ip.is_loopback and not allow_local:
        return "loopback address"
    if ip.is_link_local and not allow_local:
        return "link-local address"
    return None


def xaddr_host(url: str) -> str | None:
    """The host of an ``http://`` URL (without IPv6 brackets), or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a bad port raises ValueError
    except ValueError:
        return None
    if parts.scheme.lower() != "http" or not host:
        return None
    return host


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def xaddr_refusal(url: str, *, allow_local: bool) -> str | None:
    """The reason an XAddr is refused before any connection, or None when it may be tried."""
    if not url.lower().startswith("http://"):
        return "not an http:// URL"
    host = xaddr_host(url)
    if host is None:
        return "not a valid http:// URL"
    if is_ip_literal(host):
        return address_refusal(host, allow_local=allow_local)
    if host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost"):
        return None if allow_local else "loopback address"
    return None


def usable_xaddrs(
    xaddrs: Iterable[str], *, allow_local: bool, limit: int = MAX_USABLE_XADDRS
) -> tuple[tuple[str, ...], tuple[Refusal, ...]]:
    """The XAddrs to describe (at most ``limit``, in order) and those refused, with the reason."""
    usable: list[str] = []
    refused: list[Refusal] = []
    for url in xaddrs:
        reason = xaddr_refusal(url, allow_local=allow_local)
        if reason is not None:
            refused.append(Refusal(url=url[:200], reason=reason))
        elif len(usable) < limit:
            usable.append(url)
    return tuple(usable), tuple(refused)


def ipv4_host(url: str) -> str | None:
    """The host of an XAddr when it is an IPv4 address literal (the IP of a camera that cannot
    tell its own), else None."""
    host = xaddr_host(url)
    if host is None:
        return None
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        return None
