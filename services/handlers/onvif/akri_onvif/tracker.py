"""The live camera set of one ``Discover`` call: probes, Hello and Bye in; device lists out.

* A probe round sends a Probe through every interface, collects answers for
  ``discoveryTimeoutSeconds``, drops cameras that neither answered nor said Hello meanwhile, and
  (re)describes the ones that did; rounds repeat every ``probe_interval_seconds``.
* A Hello is described at once; a Bye removes the camera at once.
* Describing a camera: ``GetSystemDateAndTime`` on each service URL (no answer: that URL is not
  listed), then ``GetNetworkInterfaces`` with the camera's credential when its IP and MAC are not
  known yet (a failure leaves them unknown, as upstream does). A failure is warned about once per
  URL and kind until that URL works again; credentials never reach a log line.

``lists()`` yields the filtered device list after the first round, then after every change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Self

import structlog

from akri_common.devices import Device
from akri_onvif.credentials import CredentialStore
from akri_onvif.details import OnvifDetails
from akri_onvif.device_service import DescriptionError, DeviceService, NetworkFacts
from akri_onvif.inventory import UNKNOWN, Camera, device_list, needs_network_facts, wanted
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
from akri_onvif.settings import OnvifSettings

log = structlog.get_logger(__name__)


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
        self._answered: set[str] = set()
        self._endpoints: dict[str, Endpoint] = {}
        self._describing: dict[str, asyncio.Task[None]] = {}
        self._warned: set[tuple[str, str]] = set()
        self._changed = asyncio.Event()
        self._ready = False
        self._calls = asyncio.Semaphore(settings.max_concurrent_calls)
        self._service: DeviceService | None = None
        self._network = WsDiscoveryNetwork(self._on_message)
        self._rounds: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._service = DeviceService(call_timeout=self.settings.call_timeout_seconds)
        await self._network.__aenter__()
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
        await self._network.__aexit__(*exc)

    def devices(self) -> tuple[Device, ...]:
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
                self._answered.add(endpoint.uuid)
                self._seen(endpoint, source=source)
        elif isinstance(message, Hello):
            if not is_video_transmitter(message.endpoint):
                return
            log.info("onvif_hello", uuid=message.endpoint.uuid, source=source)
            self._answered.add(message.endpoint.uuid)
            self._seen(message.endpoint, source=source)
            if self._ready:
                self._describe(message.endpoint, force=True)
        else:
            self._bye(message, source=source)

    def _seen(self, endpoint: Endpoint, *, source: str) -> None:
        known = self.cameras.get(endpoint.uuid)
        if known is not None and known.endpoint != endpoint:
            # New addresses or scopes: keep the facts of URLs that stay, describe again.
            self.cameras[endpoint.uuid] = Camera(endpoint=endpoint, services=known.services)
            self._changed.set()
        self._endpoints[endpoint.uuid] = endpoint

    def _bye(self, bye: Bye, *, source: str) -> None:
        log.info("onvif_bye", uuid=bye.uuid, source=source)
        self._answered.discard(bye.uuid)
        self._endpoints.pop(bye.uuid, None)
        task = self._describing.pop(bye.uuid, None)
        if task is not None:
            task.cancel()
        if self.cameras.pop(bye.uuid, None) is not None:
            self._changed.set()

    # -- probe rounds ----------------------------------------------------------------------

    async def _probe_rounds(self) -> None:
        while True:
            started = time.monotonic()
            await self._network.refresh()
            self._answered = set()
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
            self._endpoints = {
                uuid: endpoint
                for uuid, endpoint in self._endpoints.items()
                if uuid in answered or uuid in self.cameras or uuid in self._answered
            }
            endpoints = [self._endpoints[u] for u in answered if u in self._endpoints]
            round_tasks = [self._describe(endpoint, force=False) for endpoint in endpoints]
            if round_tasks:
                await asyncio.wait(round_tasks)
            if not self._ready:
                self._ready = True
                self._changed.set()
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, self.settings.probe_interval_seconds - elapsed))

    def _describe(self, endpoint: Endpoint, *, force: bool) -> asyncio.Task[None]:
        """Starts (or, when ``force``, restarts) describing a camera; returns its task."""
        running = self._describing.get(endpoint.uuid)
        if running is not None and not force:
            return running
        if running is not None:
            running.cancel()
        task = asyncio.create_task(
            self._describe_now(endpoint), name=f"onvif-describe-{endpoint.uuid}"
        )
        self._describing[endpoint.uuid] = task
        task.add_done_callback(lambda done: self._forget(endpoint.uuid, done))
        return task

    def _forget(self, uuid: str, task: asyncio.Task[None]) -> None:
        if self._describing.get(uuid) is task:
            del self._describing[uuid]

    async def _describe_now(self, endpoint: Endpoint) -> None:
        if not wanted(self.details, endpoint):
            return
        previous = self.cameras.get(endpoint.uuid)
        services = dict(
            zip(
                endpoint.xaddrs,
                await asyncio.gather(
                    *(self._describe_url(endpoint, url, previous) for url in endpoint.xaddrs)
                ),
                strict=True,
            )
        )
        alive = {url: facts for url, facts in services.items() if facts is not None}
        if alive:
            camera = Camera(endpoint=endpoint, services=alive)
            if previous != camera:
                self.cameras[endpoint.uuid] = camera
                self._changed.set()
        elif self.cameras.pop(endpoint.uuid, None) is not None:
            self._changed.set()

    async def _describe_url(
        self, endpoint: Endpoint, url: str, previous: Camera | None
    ) -> NetworkFacts | None:
        """The URL's facts when it is alive (IP and MAC possibly unknown), else None."""
        assert self._service is not None
        try:
            async with self._calls:
                await self._service.check_alive(url)
        except DescriptionError as err:
            self._warn_once(url, err, uuid=endpoint.uuid, call="GetSystemDateAndTime")
            return None
        self._recovered(url, "GetSystemDateAndTime")
        if not needs_network_facts(previous, url):
            assert previous is not None
            return previous.services[url]
        credential = self.credentials.for_uuid(endpoint.uuid)
        try:
            async with self._calls:
                facts = await self._service.network_facts(url, credential)
        except DescriptionError as err:
            self._warn_once(
                url,
                err,
                uuid=endpoint.uuid,
                call="GetNetworkInterfaces",
                credential=credential is not None,
            )
            return UNKNOWN
        self._recovered(url, "GetNetworkInterfaces")
        log.info(
            "onvif_camera_described",
            uuid=endpoint.uuid,
            url=url,
            ip=facts.ip,
            mac=facts.mac,
            credential=credential is not None,
        )
        return facts

    def _warn_once(
        self, url: str, err: DescriptionError, *, uuid: str, call: str, credential: bool = False
    ) -> None:
        key = (url, f"{call}:{err.kind}")
        if err.kind == "unreachable" and call == "GetSystemDateAndTime":
            log.debug("onvif_camera_unreachable", uuid=uuid, url=url, detail=err.detail)
            return
        if key in self._warned:
            return
        self._warned.add(key)
        log.warning(
            "onvif_call_failed",
            uuid=uuid,
            url=url,
            call=call,
            kind=err.kind,
            detail=err.detail,
            credential=credential,
        )

    def _recovered(self, url: str, call: str) -> None:
        self._warned = {
            key for key in self._warned if not (key[0] == url and key[1].startswith(call))
        }
