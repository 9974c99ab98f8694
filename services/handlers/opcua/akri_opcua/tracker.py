"""The live server set of one ``Discover`` call: discovery URLs in, device lists out.

A round, every ``refresh_interval_seconds`` (and at once when a held-open connection drops):

1. ``FindServers`` on every discovery URL (a server, or an LDS that lists servers registered with
   it), each over its own held-open ``Link``; an unreachable URL lists nothing this round;
2. keep the applications ``servers.wanted`` keeps, take each one's ``chosen_url``, and rebuild it on
   the discovery URL's host when its host name does not resolve (upstream #555);
3. ``GetEndpoints`` on every chosen URL, again over a held-open ``Link``: a server that answers is
   alive and its endpoints give the extra properties; one that does not is not listed.

A server process that stops closes its connections, which wakes the tracker for a round at once:
the device goes within milliseconds, not a loop later. One that vanishes without a word (a cable
pulled) goes at the next round, after at most the call timeout. Links that no round needs any more
are closed; failures are warned about once per URL until that URL works again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Self

import structlog

from akri_common.devices import Device
from akri_opcua.details import OpcuaDetails
from akri_opcua.inventory import Found, device_list
from akri_opcua.link import Link, LinkError
from akri_opcua.servers import (
    OPC_TCP_PREFIX,
    Application,
    Endpoint,
    chosen_url,
    distinct,
    host_of,
    rebuilt_if_unresolved,
    rebuilt_on,
    wanted,
)
from akri_opcua.settings import OpcuaSettings

log = structlog.get_logger(__name__)

#: A dropped connection triggers a round, but never two rounds closer together than this.
MIN_ROUND_GAP_SECONDS = 0.05


@dataclass(frozen=True)
class Candidate:
    """A wanted server as one discovery URL listed it, before its liveness is checked."""

    discovery_url: str
    application: Application
    unresolved: str | None


class ServerTracker:
    """Opened with ``async with``; ``lists()`` then yields device lists until the block ends."""

    def __init__(self, details: OpcuaDetails, *, settings: OpcuaSettings) -> None:
        self.details = details
        self.settings = settings
        self._links: dict[str, Link] = {}
        self._wake = asyncio.Event()
        self._calls = asyncio.Semaphore(settings.max_concurrent_calls)
        self._resolved: dict[str, tuple[bool, float]] = {}
        self._warned: set[tuple[str, str]] = set()
        self._alive: frozenset[str] = frozenset()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        links, self._links = list(self._links.values()), {}
        await asyncio.gather(*(link.close() for link in links))

    async def lists(self) -> AsyncIterator[tuple[Device, ...]]:
        """The device list after the first round, then after every round (the SDK sends changes)."""
        while True:
            started = time.monotonic()
            self._wake.clear()
            yield await self.round()
            await self._pause(started)

    async def round(self) -> tuple[Device, ...]:
        """One pass over every discovery URL and every server they list."""
        urls = distinct(self.details.discovery_urls)
        listings = await asyncio.gather(*(self._find_servers(url) for url in urls))
        candidates: dict[str, Candidate] = {}
        for discovery_url, applications in zip(urls, listings, strict=True):
            for application in applications:
                if not wanted(self.details, application):
                    continue
                url = chosen_url(application)
                if url is None:
                    continue
                host = host_of(url)
                unresolved = None
                if host is not None and not await self._resolves(host):
                    unresolved = host
                    url = rebuilt_on(url, discovery_url)
                    log.debug("opcua_url_rebuilt", host=host, url=url, lds=discovery_url)
                candidates.setdefault(url, Candidate(discovery_url, application, unresolved))
        answers = await asyncio.gather(*(self._liveness(url) for url in candidates))
        found = [
            Found(
                url=url,
                application=candidate.application,
                endpoints=tuple(
                    _rebuilt_endpoint(e, candidate.unresolved, candidate.discovery_url)
                    for e in endpoints
                ),
            )
            for (url, candidate), endpoints in zip(candidates.items(), answers, strict=True)
            if endpoints is not None
        ]
        await self._close_unused(keep={*urls, *candidates})
        self._log_changes(frozenset(server.url for server in found))
        return device_list(found)

    # -- calls ----------------------------------------------------------------------------

    def _link(self, url: str) -> Link:
        link = self._links.get(url)
        if link is None:
            link = Link(url, timeout=self.settings.call_timeout_seconds, on_lost=self._wake.set)
            self._links[url] = link
        return link

    async def _find_servers(self, url: str) -> tuple[Application, ...]:
        try:
            async with self._calls:
                applications = await self._link(url).find_servers()
        except LinkError as err:
            self._warn_once(url, "FindServers", err)
            return ()
        self._recovered(url, "FindServers")
        return applications

    async def _endpoints(self, url: str) -> tuple[Endpoint, ...] | None:
        try:
            async with self._calls:
                endpoints = await self._link(url).endpoints()
        except LinkError as err:
            self._warn_once(url, "GetEndpoints", err)
            return None
        self._recovered(url, "GetEndpoints")
        return endpoints

    async def _liveness(self, url: str) -> tuple[Endpoint, ...] | None:
        """The endpoints of a live ``opc.tcp`` server (None when it does not answer). A server
        known only by another transport (``https``, ``opc.wss``) is listed as upstream lists it,
        unchecked and without endpoints."""
        if not url.startswith(OPC_TCP_PREFIX):
            return ()
        return await self._endpoints(url)

    async def _resolves(self, host: str) -> bool:
        """Whether ``host`` resolves (IP literals always do); answers are kept for a while."""
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            return True
        now = time.monotonic()
        cached = self._resolved.get(host)
        if cached is not None and cached[1] > now:
            return cached[0]
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.settings.call_timeout_seconds):
                await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            resolves = True
        except (OSError, TimeoutError):
            resolves = False
        self._resolved[host] = (resolves, now + self.settings.resolve_ttl_seconds)
        return resolves

    async def _close_unused(self, *, keep: set[str]) -> None:
        unused = [url for url in self._links if url not in keep]
        links = [self._links.pop(url) for url in unused]
        await asyncio.gather(*(link.close() for link in links))

    async def _pause(self, started: float) -> None:
        """Until the next round: the interval since ``started``, or a dropped connection."""
        remaining = self.settings.refresh_interval_seconds - (time.monotonic() - started)
        await asyncio.sleep(MIN_ROUND_GAP_SECONDS)  # wait-ok: the floor between two rounds
        if remaining <= MIN_ROUND_GAP_SECONDS:
            return
        try:
            async with asyncio.timeout(remaining - MIN_ROUND_GAP_SECONDS):
                await self._wake.wait()
        except TimeoutError:
            return
        log.debug("opcua_connection_lost_round")

    # -- logs -----------------------------------------------------------------------------

    def _log_changes(self, alive: frozenset[str]) -> None:
        for url in sorted(alive - self._alive):
            log.info("opcua_server_found", url=url)
        for url in sorted(self._alive - alive):
            log.info("opcua_server_gone", url=url)
        self._alive = alive

    def _warn_once(self, url: str, call: str, err: LinkError) -> None:
        key = (url, call)
        if key in self._warned:
            return
        self._warned.add(key)
        log.warning("opcua_call_failed", url=url, call=call, kind=err.kind, detail=err.detail)

    def _recovered(self, url: str, call: str) -> None:
        self._warned.discard((url, call))


def _rebuilt_endpoint(endpoint: Endpoint, unresolved: str | None, discovery_url: str) -> Endpoint:
    url = rebuilt_if_unresolved(endpoint.url, unresolved=unresolved, discovery_url=discovery_url)
    return Endpoint(url, endpoint.security_mode, endpoint.security_policy)
