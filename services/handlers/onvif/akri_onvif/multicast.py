"""The WS-Discovery sockets: a listener on 239.255.255.250:3702 and one probe socket per interface.

The listener joins the group on every up, multicast-capable IPv4 interface (so Hello and Bye from
any camera network arrive), and each probe socket is bound to one interface's address with
``IP_MULTICAST_IF`` set to it, so a Probe leaves through every camera network, whatever the routes,
and unicast ProbeMatches come back to it. ``refresh`` follows interfaces that come and go.
Everything runs on asyncio datagram endpoints; no thread.
"""

from __future__ import annotations

import asyncio
import fcntl
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

import structlog

from akri_onvif.messages import (
    MAX_DATAGRAM,
    MULTICAST_GROUP,
    MULTICAST_PORT,
    MalformedMessageError,
    Message,
    parse_message,
)

log = structlog.get_logger(__name__)

SIOCGIFFLAGS = 0x8913
SIOCGIFADDR = 0x8915
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_MULTICAST = 0x1000

OnMessage = Callable[[Message, str], None]


@dataclass(frozen=True)
class Interface:
    name: str
    index: int
    address: str


def multicast_interfaces() -> tuple[Interface, ...]:
    """Interfaces that are up, not loopback, multicast-capable and have an IPv4 address."""
    found: list[Interface] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for index, name in socket.if_nameindex():
            request = struct.pack("16s24x", name.encode()[:15])
            try:
                flags = struct.unpack_from("H", fcntl.ioctl(probe, SIOCGIFFLAGS, request), 16)[0]
                if not flags & IFF_UP or flags & IFF_LOOPBACK or not flags & IFF_MULTICAST:
                    continue
                raw = fcntl.ioctl(probe, SIOCGIFADDR, request)
            except OSError:
                continue  # no IPv4 address, or the interface vanished meanwhile
            found.append(Interface(name=name, index=index, address=socket.inet_ntoa(raw[20:24])))
    return tuple(found)


def membership(interface: Interface) -> bytes:
    """An ``ip_mreqn`` for the WS-Discovery group on ``interface``."""
    return struct.pack("4s4si", socket.inet_aton(MULTICAST_GROUP), bytes(4), interface.index)


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, on_message: OnMessage, role: str) -> None:
        self._on_message = on_message
        self._role = role

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        source = str(addr[0])
        try:
            message = parse_message(data)
        except MalformedMessageError as err:
            log.debug("ws_discovery_datagram_ignored", source=source, reason=str(err))
            return
        if message is not None:
            self._on_message(message, source)

    def error_received(self, exc: Exception) -> None:
        log.debug("ws_discovery_socket_error", role=self._role, error=str(exc))


class WsDiscoveryNetwork:
    """Opened with ``async with``; calls ``on_message`` for every Hello, Bye and ProbeMatches."""

    def __init__(self, on_message: OnMessage) -> None:
        self._on_message = on_message
        self._listener: asyncio.DatagramTransport | None = None
        self._probers: dict[Interface, asyncio.DatagramTransport] = {}

    @property
    def interfaces(self) -> tuple[Interface, ...]:
        return tuple(self._probers)

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind(("", MULTICAST_PORT))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Receiver(self._on_message, "listener"), sock=sock
        )
        self._listener = transport
        await self.refresh()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for transport in self._probers.values():
            transport.close()
        self._probers.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    async def refresh(self) -> None:
        """Follows the host's interfaces: joins and probes through new ones, forgets gone ones."""
        current = set(multicast_interfaces())
        for gone in set(self._probers) - current:
            self._probers.pop(gone).close()
            log.info("ws_discovery_interface_gone", interface=gone.name, address=gone.address)
        for new in sorted(current - set(self._probers), key=lambda i: i.index):
            try:
                await self._open_interface(new)
            except OSError as err:
                log.warning("ws_discovery_interface_failed", interface=new.name, error=str(err))
                continue
            log.info("ws_discovery_interface_joined", interface=new.name, address=new.address)

    async def _open_interface(self, interface: Interface) -> None:
        assert self._listener is not None
        listener = self._listener.get_extra_info("socket")
        try:
            listener.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership(interface))
        except OSError as err:
            if err.errno != 98:  # EADDRINUSE: already a member (interface re-appeared)
                raise
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface.address)
            )
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            sock.bind((interface.address, 0))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Receiver(self._on_message, f"probe:{interface.name}"), sock=sock
        )
        self._probers[interface] = transport

    def send(self, datagram: bytes) -> int:
        """Sends ``datagram`` to the group through every interface; returns how many."""
        if len(datagram) > MAX_DATAGRAM:
            raise ValueError("datagram too large")
        for transport in self._probers.values():
            transport.sendto(datagram, (MULTICAST_GROUP, MULTICAST_PORT))
        return len(self._probers)
