"""One discovery request per Configuration: a Discover stream to every endpoint with its handler name.

The request keeps an ``EndpointListing`` per endpoint (``listing`` decides what they mean). A stream
that is lost, or a ``Discover`` that fails before its first list, is reopened (at once after a
healthy stream, with a growing delay while it keeps failing); an error on this request's stream
concerns this Configuration only. Only an endpoint that cannot be connected to at all is reported
through ``on_unreachable`` (and forgotten by the manager until it registers again); an endpoint that
rejects the details keeps that error until the request is recreated or the endpoint registers
again. Every change of lists, phases or errors calls ``on_change``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from akri_agent.discovery import client
from akri_agent.discovery.errors import (
    DiscoveryError,
    HandlerFailedError,
    HandlerStreamLostError,
    HandlerUnreachableError,
    InvalidDiscoveryDetailsError,
)
from akri_agent.discovery.listing import EndpointListing, Phase
from akri_agent.discovery.model import Endpoint
from akri_agent.discovery.observer import DiscoveryObserver
from akri_agent.discovery.validation import Problem, accept_devices
from akri_common.backoff import Backoff
from akri_common.devices import Device
from akri_common.ids import HandlerName

log = structlog.get_logger(__name__)

# A stream that stayed open this long counts as healthy: the next loss reconnects without delay.
HEALTHY_STREAM_SECONDS = 5.0
# Retrying a Discover that keeps failing on this Configuration: at most this long between attempts.
FAILED_RETRY_CAP_SECONDS = 30.0


@dataclass(frozen=True)
class RequestSpec:
    """What a request asks its handlers; a change of any of it restarts the request."""

    handler: HandlerName
    details: str
    properties: Mapping[str, bytes | None] = field(default_factory=dict)


@dataclass
class _Problems:
    """The problems of the last list a stream delivered, so that each new set is logged once."""

    last: tuple[Problem, ...] = ()

    def accept(self, devices: tuple[Device, ...], bound: Any) -> tuple[Device, ...]:
        kept, problems = accept_devices(devices)
        if problems and problems != self.last:
            bound.warning(
                "devices_rejected", problems=[str(p) for p in problems], accepted=len(kept)
            )
        self.last = problems
        return kept


@dataclass
class _Stream:
    task: asyncio.Task[None]
    nudge: asyncio.Event


class DiscoveryRequest:
    def __init__(
        self,
        *,
        label: str,
        spec: RequestSpec,
        on_change: Callable[[], None],
        on_unreachable: Callable[[Endpoint], None],
        observer: DiscoveryObserver | None = None,
        first_list_warning: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self._observer = observer or DiscoveryObserver()
        self.spec = spec
        self._on_change = on_change
        self._on_unreachable = on_unreachable
        self._first_list_warning = first_list_warning
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        self._listings: dict[str, EndpointListing] = {}
        self._errors: dict[str, DiscoveryError] = {}
        self._closed = False

    def listings(self) -> tuple[EndpointListing, ...]:
        return tuple(self._listings[uid] for uid in sorted(self._listings))

    def errors(self) -> tuple[DiscoveryError, ...]:
        return tuple(self._errors[uid] for uid in sorted(self._errors))

    def streaming(self) -> int:
        """How many endpoints currently have a stream task."""
        return sum(1 for s in self._streams.values() if not s.task.done())

    def follow(self, endpoint: Endpoint) -> None:
        """Streams from ``endpoint``; if a stream exists already, makes it reconnect promptly."""
        if self._closed:
            return
        current = self._streams.get(endpoint.uid)
        if current is not None and not current.task.done():
            current.nudge.set()
            return
        now = self._clock()
        previous = self._listings.get(endpoint.uid)
        self._listings[endpoint.uid] = (
            EndpointListing(endpoint, Phase.WAITING, now)
            if previous is None
            else EndpointListing(endpoint, Phase.WAITING, now, previous.devices)
        )
        self._errors.pop(endpoint.uid, None)
        self._on_change()
        nudge = asyncio.Event()
        task = asyncio.create_task(
            self._stream(endpoint, nudge), name=f"discover {self.label} from {endpoint.uid}"
        )
        self._streams[endpoint.uid] = _Stream(task=task, nudge=nudge)

    async def close(self) -> None:
        """Stops every stream and waits for their tasks."""
        self._closed = True
        tasks = [s.task for s in self._streams.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._streams.clear()

    async def _stream(self, endpoint: Endpoint, nudge: asyncio.Event) -> None:
        backoff = Backoff(cap=FAILED_RETRY_CAP_SECONDS)
        problems = _Problems()
        while True:
            opened = time.monotonic()
            outcome = await self._call(endpoint, nudge, problems)
            if outcome == "stop":
                return
            if outcome == "lost" and time.monotonic() - opened >= HEALTHY_STREAM_SECONDS:
                backoff.reset()
            nudge.clear()
            delay = backoff.next_delay()
            if delay:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await nudge.wait()

    async def _call(
        self, endpoint: Endpoint, nudge: asyncio.Event, problems: _Problems
    ) -> Literal["stop", "lost", "retry"]:
        """One ``Discover`` call until it ends; says whether to stop, or how it ended."""
        bound = log.bind(configuration=self.label, endpoint=endpoint.uid)
        opened = time.monotonic()
        silent = asyncio.get_running_loop().call_later(
            self._first_list_warning,
            lambda: bound.warning(
                "discovery_handler_silent",
                waited_seconds=self._first_list_warning,
                hint="the handler accepted Discover but sent no device list",
            ),
        )
        first = True
        try:
            async for devices in client.discover(
                endpoint, details=self.spec.details, properties=self.spec.properties
            ):
                silent.cancel()
                kept = problems.accept(devices, bound)
                if first:
                    first = False
                    self._first_list(endpoint, seconds=time.monotonic() - opened, bound=bound)
                self._set(endpoint, kept)
        except InvalidDiscoveryDetailsError as err:
            bound.warning("discovery_details_rejected", message=err.message)
            self._observer.result(handler=endpoint.handler, result="invalid_details")
            self._errors[endpoint.uid] = err
            self._update(endpoint, lambda e: e.rejected(self._clock()))
            return "stop"
        except HandlerFailedError as err:
            # This Configuration's Discover failed; the endpoint serves others still.
            if self._errors.get(endpoint.uid) is None:
                bound.warning("discovery_failed", error=str(err))
            self._observer.result(handler=endpoint.handler, result="failed")
            self._errors[endpoint.uid] = err
            self._update(endpoint, lambda e: e.interrupted(self._clock()))
            return "retry"
        except HandlerStreamLostError as err:
            bound.info("discovery_stream_lost", reason=str(err))
            self._observer.result(handler=endpoint.handler, result="lost")
            self._update(endpoint, lambda e: e.interrupted(self._clock()))
            return "lost"
        except HandlerUnreachableError as err:
            self._observer.result(handler=endpoint.handler, result="unreachable")
            if nudge.is_set():  # it registered again meanwhile: try once more
                self._update(endpoint, lambda e: e.interrupted(self._clock()))
                return "retry"
            bound.info("discovery_handler_unreachable", reason=str(err))
            self._streams.pop(endpoint.uid, None)
            self._update(endpoint, lambda e: e.forgotten(self._clock()))
            self._on_unreachable(endpoint)
            return "stop"
        finally:
            silent.cancel()
        return "lost"  # pragma: no cover - ``discover`` always ends by raising

    def _first_list(self, endpoint: Endpoint, *, seconds: float, bound: Any) -> None:
        self._observer.first_list(
            configuration=self.label, handler=endpoint.handler, seconds=seconds
        )
        self._observer.result(handler=endpoint.handler, result="ok")
        if self._errors.pop(endpoint.uid, None) is not None:
            bound.info("discovery_recovered")

    def _set(self, endpoint: Endpoint, devices: tuple[Device, ...]) -> None:
        entry = self._listings.get(endpoint.uid) or EndpointListing(
            endpoint, Phase.WAITING, self._clock()
        )
        updated = entry.listed(devices, self._clock())
        if (updated.phase, updated.devices) != (entry.phase, entry.devices):
            self._listings[endpoint.uid] = updated
            self._on_change()

    def _update(
        self, endpoint: Endpoint, change: Callable[[EndpointListing], EndpointListing]
    ) -> None:
        entry = self._listings.get(endpoint.uid) or EndpointListing(
            endpoint, Phase.WAITING, self._clock()
        )
        self._listings[endpoint.uid] = change(entry)
        self._on_change()
