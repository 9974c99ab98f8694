"""The live camera set of one ``Discover`` call: probes, Hello and Bye in; device lists out.

* A probe round sends a Probe through every interface, collects answers for
  ``discoveryTimeoutSeconds``, drops cameras that neither answered nor said Hello meanwhile, and
  (re)describes the ones that did; rounds repeat every ``probe_interval_seconds``.
* A Hello is described at once (unless that camera is being described already, or too many
  Hellos are); a Bye removes the camera at once, when it comes from the camera's own address
  (one of its XAddr hosts, or where its answers came from). The same camera answering twice, or
  on two interfaces, is one camera whose XAddrs are the union of its answers.
* XAddrs go through the ``xaddrs`` policy first (refused: loopback, link-local, unspecified, not
  ``http://``; at most a few per camera) and at most ``MAX_CAMERAS`` cameras are tracked (at most
  ``MAX_CAMERAS_PER_SOURCE`` from one address), so one datagram, or a flood of them, causes a
  bounded amount of work; known cameras are described first, and the first list waits for the
  descriptions at most ``FIRST_LIST_CALLS`` call timeouts (later ones come in the next list).
* Each URL of a camera is described by the ``describer`` (liveness, authentication, clock, IP,
  MAC, media); a camera that answered but is not listed gets one ``onvif_camera_not_listed``
  line (``reasons``), here for the filters and refused XAddrs, there for the rest.

``lists()`` yields the filtered device list after the first round, then after every change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Self

import structlog

from akri_common.devices import Device
from akri_onvif.credentials import CredentialStore
from akri_onvif.describer import Describer
from akri_onvif.details import OnvifDetails
from akri_onvif.device_service import DeviceService
from akri_onvif.inventory import UNKNOWN, Camera, device_list, filtered_by, wanted
from akri_onvif.inventory import silent_after_round as silent
from akri_onvif.messages import (
    Bye,
    Endpoint,
    Hello,
    Message,
    ProbeMatches,
    build_probe,
    is_video_transmitter,
)
from akri_onvif.multicast import WsDiscoveryNetwork
from akri_onvif.reasons import NotListed, Reason, ReasonLog
from akri_onvif.settings import OnvifSettings
from akri_onvif.soap_http import SoapHttp
from akri_onvif.xaddrs import MAX_USABLE_XADDRS, usable_xaddrs, xaddr_host

log = structlog.get_logger(__name__)

#: Cameras tracked at once by one ``Discover`` (answers from more are ignored until some leave),
#: and of those, how many one source address may announce (a camera is one; an NVR or a
#: simulator answers for many, and a unicast answer may leave from another address of the host).
MAX_CAMERAS = 512
MAX_CAMERAS_PER_SOURCE = 64
#: The first list waits for descriptions at most this many call timeouts after the probe window;
#: cameras described later are added by the next list.
FIRST_LIST_CALLS = 4
#: Hello-triggered descriptions in flight at once; more Hellos wait for the next probe round.
MAX_HELLO_DESCRIPTIONS = 16


class CameraTracker:
    """Opened with ``async with``; ``lists()`` then yields device lists until the block ends."""

    def __init__(
        self,
        details: OnvifDetails,
        *,
        credentials: CredentialStore,
        settings: OnvifSettings,
    ) -> None:
        self.details = details
        self.credentials = credentials
        self.settings = settings
        self.cameras: dict[str, Camera] = {}
        self.reasons = ReasonLog()
        self._answered: set[str] = set()
        self._endpoints: dict[str, Endpoint] = {}
        self._round_endpoints: dict[str, Endpoint] = {}
        self._sources: dict[str, set[str]] = {}
        self._per_source: dict[str, int] = {}
        self._describing: dict[str, asyncio.Task[None]] = {}
        self._hello_tasks = 0
        self._changed = asyncio.Event()
        self._ready = False
        self._http = SoapHttp(
            allow_local=settings.allow_local_xaddrs, max_connections=settings.max_concurrent_calls
        )
        self._describer: Describer | None = None
        self._network = WsDiscoveryNetwork(self._on_message)
        self._rounds: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._http.__aenter__()
        try:
            service = DeviceService(self._http, call_timeout=self.settings.call_timeout_seconds)
            self._describer = Describer(
                service,
                details=self.details,
                credentials=self.credentials,
                reasons=self.reasons,
                allow_local=self.settings.allow_local_xaddrs,
                max_calls=self.settings.max_concurrent_calls,
            )
            await self._network.__aenter__()
        except BaseException:
            await self._http.__aexit__(None, None, None)
            raise
        self._rounds = asyncio.create_task(self._probe_rounds(), name="onvif-probe-rounds")
        # Wakes ``lists()`` should the probe loop fail, so that the error ends the stream.
        self._rounds.add_done_callback(lambda _: self._changed.set())
        return self

    async def __aexit__(self, *exc: object) -> None:
        tasks = [*self._describing.values(), *([self._rounds] if self._rounds else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self._describing.clear()
        try:
            await self._network.__aexit__(*exc)
        finally:
            await self._http.__aexit__(*exc)

    def devices(self) -> tuple[Device, ...]:
        for camera in self.cameras.values():
            for url, facts in camera.services.items():
                name = filtered_by(self.details, camera.endpoint, facts)
                if name is None:
                    self.reasons.clear(camera.endpoint.uuid, url)
                else:
                    self.reasons.set(
                        camera.endpoint.uuid, url, NotListed(Reason.FILTERED, {"filter": name})
                    )
        return device_list(self.details, self.cameras.values())

    async def lists(self) -> AsyncIterator[tuple[Device, ...]]:
        """The device list once the first probe round is described, then after each change."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            if self._rounds is not None and self._rounds.done() and not self._rounds.cancelled():
                self._rounds.result()  # a failed probe loop ends the stream with its error
            if self._ready:
                yield self.devices()

    # -- WS-Discovery events (called by the datagram protocol, on the loop) --------------------

    def _on_message(self, message: Message, source: str) -> None:
        if isinstance(message, ProbeMatches):
            for endpoint in message.endpoints:
                if self._admit(endpoint, source=source) is not None:
                    self._answered.add(endpoint.uuid)
        elif isinstance(message, Hello):
            if not is_video_transmitter(message.endpoint):
                return
            new = message.endpoint.uuid not in self._endpoints
            admitted = self._admit(message.endpoint, source=source)
            if admitted is None:
                return
            if new:
                log.info("onvif_hello", uuid=admitted.uuid[:100], source=source)
            self._answered.add(admitted.uuid)
            running = self._describing.get(admitted.uuid)
            if self._ready and self._hello_tasks < MAX_HELLO_DESCRIPTIONS and running is None:
                self._hello_tasks += 1
                task = self._describe(admitted)
                task.add_done_callback(self._hello_done)
        else:
            self._bye(message, source=source)

    def _hello_done(self, _: asyncio.Task[None]) -> None:
        self._hello_tasks -= 1

    def _admit(self, endpoint: Endpoint, *, source: str) -> Endpoint | None:
        """The endpoint as the handler will use it (usable XAddrs merged with the ones it gave
        before in this round), or None when it is not tracked."""
        sources = self._sources.get(endpoint.uuid)
        if sources is None:
            if (
                len(self._endpoints) >= MAX_CAMERAS
                or self._per_source.get(source, 0) >= MAX_CAMERAS_PER_SOURCE
            ):
                log.debug("onvif_camera_limit", uuid=endpoint.uuid[:100], source=source)
                return None
            sources = self._sources[endpoint.uuid] = set()
        if source not in sources and len(sources) < MAX_USABLE_XADDRS:
            sources.add(source)
            self._per_source[source] = self._per_source.get(source, 0) + 1
        # An endpoint with only refused XAddrs counts against its source too (and is forgotten
        # at the end of the round), so that its refusals are logged a bounded number of times.
        usable, refused = usable_xaddrs(
            endpoint.xaddrs, allow_local=self.settings.allow_local_xaddrs
        )
        for refusal in refused:
            self.reasons.set(
                endpoint.uuid,
                refusal.url,
                NotListed(Reason.REFUSED_ADDRESS, {"detail": refusal.reason}),
            )
        earlier = self._round_endpoints.get(endpoint.uuid)
        if earlier is not None:  # the same camera again, or on another interface: one camera
            merged = tuple(dict.fromkeys((*earlier.xaddrs, *usable)))
            usable, _ = usable_xaddrs(merged, allow_local=self.settings.allow_local_xaddrs)
        if not usable:
            return None
        admitted = replace(endpoint, xaddrs=usable)
        self._round_endpoints[endpoint.uuid] = admitted
        self._seen(admitted)
        return admitted

    def _seen(self, endpoint: Endpoint) -> None:
        known = self.cameras.get(endpoint.uuid)
        if known is not None and known.endpoint != endpoint:
            # New addresses or scopes: keep the facts of URLs that stay, describe again.
            services = {u: f for u, f in known.services.items() if u in endpoint.xaddrs}
            self.cameras[endpoint.uuid] = Camera(endpoint=endpoint, services=services)
            self._changed.set()
        self._endpoints[endpoint.uuid] = endpoint

    def _bye(self, bye: Bye, *, source: str) -> None:
        endpoint = self._endpoints.get(bye.uuid)
        if endpoint is None:
            return
        hosts = {xaddr_host(url) for url in endpoint.xaddrs} | self._sources.get(bye.uuid, set())
        if source not in hosts:
            # Anyone can send a Bye; one from elsewhere than the camera is not believed.
            log.debug("onvif_bye_ignored", uuid=bye.uuid[:100], source=source)
            return
        log.info("onvif_bye", uuid=bye.uuid[:100], source=source)
        self._answered.discard(bye.uuid)
        self._forget_camera(bye.uuid)

    # -- probe rounds ----------------------------------------------------------------------

    async def _probe_rounds(self) -> None:
        while True:
            started = time.monotonic()
            await self._network.refresh()
            self._answered = set()
            self._round_endpoints = {}
            message_id, probe = build_probe()
            sent = self._network.send(probe)
            log.debug("onvif_probe_sent", message_id=message_id, interfaces=sent)
            await asyncio.sleep(self.details.discovery_timeout_seconds)
            answered = set(self._answered)
            for uuid in silent(self.cameras, answered):
                if uuid not in self._describing:
                    log.info("onvif_camera_silent", uuid=uuid)
                    del self.cameras[uuid]
                    self._changed.set()
            for uuid in {*self._endpoints, *self._sources}:
                if uuid not in answered and uuid not in self.cameras and uuid not in self._answered:
                    self._forget_camera(uuid)
            live_urls = {url for e in self._endpoints.values() for url in e.xaddrs}
            assert self._describer is not None
            self._describer.keep_only(live_urls)
            # Cameras already known first: a flood of new answers cannot delay them.
            endpoints = sorted(
                (self._endpoints[u] for u in answered if u in self._endpoints),
                key=lambda e: (e.uuid not in self.cameras, e.uuid),
            )
            round_tasks = [self._describe(endpoint) for endpoint in endpoints]
            if round_tasks:
                deadline = None if self._ready else self._first_list_deadline()
                await asyncio.wait(round_tasks, timeout=deadline)
            if not self._ready:
                self._ready = True
                self._changed.set()
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, self.settings.probe_interval_seconds - elapsed))

    def _first_list_deadline(self) -> float:
        return FIRST_LIST_CALLS * self.settings.call_timeout_seconds

    def _forget_camera(self, uuid: str) -> None:
        """Drops everything known about a camera that left (its Bye, or silence)."""
        self._endpoints.pop(uuid, None)
        self._round_endpoints.pop(uuid, None)
        self.reasons.clear(uuid)
        for source in self._sources.pop(uuid, set()):
            left = self._per_source.get(source, 0) - 1
            if left > 0:
                self._per_source[source] = left
            else:
                self._per_source.pop(source, None)
        task = self._describing.pop(uuid, None)
        if task is not None:
            task.cancel()
        if self.cameras.pop(uuid, None) is not None:
            self._changed.set()

    def _describe(self, endpoint: Endpoint) -> asyncio.Task[None]:
        """Starts describing a camera unless that is under way; returns its task."""
        running = self._describing.get(endpoint.uuid)
        if running is not None:
            return running
        task = asyncio.create_task(
            self._describe_now(endpoint), name=f"onvif-describe-{endpoint.uuid[:64]}"
        )
        self._describing[endpoint.uuid] = task
        task.add_done_callback(lambda done: self._forget(endpoint.uuid, done))
        return task

    def _forget(self, uuid: str, task: asyncio.Task[None]) -> None:
        if self._describing.get(uuid) is task:
            del self._describing[uuid]

    async def _describe_now(self, endpoint: Endpoint) -> None:
        if not wanted(self.details, endpoint):
            name = filtered_by(self.details, endpoint, UNKNOWN) or "scopes"
            for url in endpoint.xaddrs:
                self.reasons.set(endpoint.uuid, url, NotListed(Reason.FILTERED, {"filter": name}))
            return
        endpoint = self._endpoints.get(endpoint.uuid, endpoint)
        previous = self.cameras.get(endpoint.uuid)
        describer = self._describer
        assert describer is not None
        results = await asyncio.gather(
            *(describer.describe(endpoint, url, previous) for url in endpoint.xaddrs)
        )
        services = dict(zip(endpoint.xaddrs, results, strict=True))
        alive = {url: facts for url, facts in services.items() if facts is not None}
        if endpoint.uuid not in self._endpoints:
            return  # it said Bye meanwhile
        if alive:
            camera = Camera(endpoint=endpoint, services=alive)
            if previous != camera:
                self.cameras[endpoint.uuid] = camera
                self._changed.set()
        elif self.cameras.pop(endpoint.uuid, None) is not None:
            self._changed.set()
