"""One discovery request per Configuration: a Discover stream to every endpoint with its handler name.

The request keeps the latest list of each endpoint. A stream that is lost is reopened at once (with a
growing delay if it keeps failing); an endpoint that cannot be reached at all is reported through
``on_unreachable`` and forgotten until it registers again; an endpoint that rejects the details keeps
that error until the request is recreated or the endpoint registers again. Every change of lists or
errors calls ``on_change``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from akri_agent.discovery import client
from akri_agent.discovery.errors import (
    DiscoveryError,
    HandlerStreamLostError,
    HandlerUnreachableError,
    InvalidDiscoveryDetailsError,
)
from akri_agent.discovery.model import Endpoint, EndpointDevices
from akri_agent.discovery.observer import DiscoveryObserver
from akri_agent.discovery.validation import Problem, accept_devices
from akri_common.backoff import Backoff
from akri_common.devices import Device
from akri_common.ids import HandlerName

log = structlog.get_logger(__name__)

# A stream that stayed open this long counts as healthy: the next loss reconnects without delay.
HEALTHY_STREAM_SECONDS = 5.0
# A handler that has sent no list this long after a Discover call is reported (once per call).
FIRST_LIST_WARNING_SECONDS = 10.0


@dataclass(frozen=True)
class RequestSpec:
    """What a request asks its handlers; a change of any of it restarts the request."""

    handler: HandlerName
    details: str
    properties: Mapping[str, bytes | None] = field(default_factory=dict)


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
    ) -> None:
        self.label = label
        self._observer = observer or DiscoveryObserver()
        self.spec = spec
        self._on_change = on_change
        self._on_unreachable = on_unreachable
        self._streams: dict[str, _Stream] = {}
        self._lists: dict[str, EndpointDevices] = {}
        self._errors: dict[str, DiscoveryError] = {}
        self._closed = False

    def lists(self) -> tuple[EndpointDevices, ...]:
        return tuple(self._lists[uid] for uid in sorted(self._lists))

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
        if self._errors.pop(endpoint.uid, None) is not None:
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
        backoff = Backoff()
        last_problems: tuple[Problem, ...] = ()
        bound = log.bind(configuration=self.label, endpoint=endpoint.uid)
        while True:
            opened = time.monotonic()
            first = True
            silent = asyncio.get_running_loop().call_later(
                FIRST_LIST_WARNING_SECONDS,
                lambda: bound.warning(
                    "discovery_handler_silent",
                    waited_seconds=FIRST_LIST_WARNING_SECONDS,
                    hint="the handler accepted Discover but sent no device list",
                ),
            )
            try:
                async for devices in client.discover(
                    endpoint, details=self.spec.details, properties=self.spec.properties
                ):
                    kept, problems = accept_devices(devices)
                    if problems and problems != last_problems:
                        bound.warning(
                            "devices_rejected",
                            problems=[str(p) for p in problems],
                            accepted=len(kept),
                        )
                    last_problems = problems
                    if first:
                        first = False
                        silent.cancel()
                        self._observer.first_list(
                            configuration=self.label,
                            handler=endpoint.handler,
                            seconds=time.monotonic() - opened,
                        )
                        self._observer.result(handler=endpoint.handler, result="ok")
                    self._set(endpoint, kept)
            except InvalidDiscoveryDetailsError as err:
                bound.warning("discovery_details_rejected", message=err.message)
                self._observer.result(handler=endpoint.handler, result="invalid_details")
                self._errors[endpoint.uid] = err
                self._drop(endpoint, changed=True)
                return
            except HandlerStreamLostError as err:
                bound.info("discovery_stream_lost", reason=str(err))
                self._observer.result(handler=endpoint.handler, result="lost")
                self._drop(endpoint)
                if time.monotonic() - opened >= HEALTHY_STREAM_SECONDS:
                    backoff.reset()
            except HandlerUnreachableError as err:
                silent.cancel()
                self._observer.result(handler=endpoint.handler, result="unreachable")
                self._drop(endpoint)
                if not nudge.is_set():
                    bound.info("discovery_handler_unreachable", reason=str(err))
                    self._streams.pop(endpoint.uid, None)
                    self._on_unreachable(endpoint)
                    return
            nudge.clear()
            delay = backoff.next_delay()
            if delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(nudge.wait(), timeout=delay)

    def _set(self, endpoint: Endpoint, devices: tuple[Device, ...]) -> None:
        entry = EndpointDevices(endpoint=endpoint, devices=devices)
        if self._lists.get(endpoint.uid) != entry:
            self._lists[endpoint.uid] = entry
            self._on_change()

    def _drop(self, endpoint: Endpoint, *, changed: bool = False) -> None:
        if self._lists.pop(endpoint.uid, None) is not None or changed:
            self._on_change()
