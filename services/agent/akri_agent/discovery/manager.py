"""The discovery core of a node: registered endpoints and one request per Configuration.

``apply`` is level-based: given a Configuration's current state it creates the request, restarts it
when the handler name, ``discoveryDetails`` or resolved ``discoveryProperties`` changed, or keeps it
(capacity and ``brokerProperties`` only change what ``state`` derives, and are not signalled:
the caller of ``apply`` is reconciling already). ``valueFrom`` properties are resolved again only
when the Configuration's discovery handler section changed or ``resolve_every`` seconds passed, so a
reconcile caused by a device list does not read Secrets. ``register`` makes every request for that
handler name stream from a new endpoint at once. ``on_change(key)`` is called whenever what
``state(key)`` would return may have changed; ``state`` also says whether the request is
**listed** (``listing``), the only state in which Instances may be released.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from akri_agent.discovery.desired import DesiredInstance, desired_instances
from akri_agent.discovery.errors import DiscoveryError
from akri_agent.discovery.listing import ListingGraces, Phase, request_listing
from akri_agent.discovery.model import Endpoint
from akri_agent.discovery.observer import DiscoveryObserver
from akri_agent.discovery.properties import KeyRefLookup, literal_only, resolve_properties
from akri_agent.discovery.registry import EndpointRegistry
from akri_agent.discovery.request import DiscoveryRequest, RequestSpec
from akri_common.crds.configuration import Configuration, DiscoveryHandlerInfo
from akri_common.ids import ConfigurationName, NodeName

log = structlog.get_logger(__name__)


@dataclass(frozen=True, order=True)
class ConfigurationKey:
    namespace: str
    name: ConfigurationName

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def of(cls, configuration: Configuration) -> ConfigurationKey:
        return cls(namespace=configuration.namespace, name=configuration.name)


@dataclass(frozen=True)
class DiscoveryTimings:
    """The discovery core's knobs (``akri_agent.settings.Timings`` in the agent)."""

    registration_grace: float = 10.0
    first_list_grace: float = 30.0
    first_list_warning: float = 10.0
    resolve_every: float = 600.0


@dataclass(frozen=True)
class DiscoveryState:
    """What one Configuration's discovery currently yields on this node.

    ``listed``: every endpoint has answered (``listing``); only then may Instances that are not in
    ``instances`` be released. ``recheck_after``: when the state may change by the clock alone.
    """

    configuration: Configuration
    instances: tuple[DesiredInstance, ...]
    endpoints: tuple[Endpoint, ...]
    reporting: int
    errors: tuple[DiscoveryError, ...]
    listed: bool
    recheck_after: float | None


@dataclass
class _Resolved:
    handler: DiscoveryHandlerInfo
    spec: RequestSpec
    at: float


class DiscoveryManager:
    def __init__(
        self,
        *,
        node: NodeName,
        on_change: Callable[[ConfigurationKey], None],
        lookup: KeyRefLookup = literal_only,
        observer: DiscoveryObserver | None = None,
        timings: DiscoveryTimings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node = node
        self._observer = observer
        self.registry = EndpointRegistry()
        self._on_change = on_change
        self._lookup = lookup
        self._timings = timings or DiscoveryTimings()
        self._clock = clock
        self._started = clock()
        self._configurations: dict[ConfigurationKey, Configuration] = {}
        self._requests: dict[ConfigurationKey, DiscoveryRequest] = {}
        self._resolved: dict[ConfigurationKey, _Resolved] = {}

    def register(self, endpoint: Endpoint) -> None:
        """A handler registered (or registered again): every matching request streams from it."""
        self.registry.add(endpoint)
        log.info(
            "handler_registered",
            handler=endpoint.handler,
            endpoint=endpoint.address,
            kind=endpoint.kind.value,
            shared=endpoint.shared,
        )
        for request in self._requests.values():
            if request.spec.handler == endpoint.handler:
                request.follow(endpoint)

    async def apply(self, configuration: Configuration) -> None:
        """Makes the request for this Configuration match it.

        Raises ``UnresolvedPropertyError`` when a ``discoveryProperties`` entry cannot be resolved;
        the running request, if any, is then left as it was.
        """
        key = ConfigurationKey.of(configuration)
        spec = await self._spec(key, configuration.discovery_handler)
        self._configurations[key] = configuration
        current = self._requests.get(key)
        if current is not None and current.spec == spec:
            # Same request: what changed (capacity, brokerProperties) is derived by ``state``;
            # the caller is reconciling already, so no change is signalled.
            return
        if current is not None:
            log.info("discovery_restarted", configuration=str(key), handler=spec.handler)
            await current.close()
        request = DiscoveryRequest(
            label=str(key),
            spec=spec,
            on_change=lambda: self._on_change(key),
            on_unreachable=self._unreachable,
            observer=self._observer,
            first_list_warning=self._timings.first_list_warning,
            clock=self._clock,
        )
        self._requests[key] = request
        for endpoint in self.registry.endpoints(spec.handler):
            request.follow(endpoint)
        self._on_change(key)

    async def _spec(self, key: ConfigurationKey, handler: DiscoveryHandlerInfo) -> RequestSpec:
        """The request spec, resolving ``valueFrom`` properties only when needed."""
        now = self._clock()
        resolved = self._resolved.get(key)
        if (
            resolved is not None
            and resolved.handler == handler
            and now - resolved.at < self._timings.resolve_every
        ):
            return resolved.spec
        spec = RequestSpec(
            handler=handler.name,
            details=handler.discovery_details,
            properties=await resolve_properties(handler.discovery_properties, self._lookup),
        )
        self._resolved[key] = _Resolved(handler=handler, spec=spec, at=now)
        return spec

    async def remove(self, key: ConfigurationKey) -> None:
        """Stops discovery for a Configuration that is gone."""
        self._configurations.pop(key, None)
        self._resolved.pop(key, None)
        request = self._requests.pop(key, None)
        if request is not None:
            await request.close()
            self._on_change(key)

    def keys(self) -> tuple[ConfigurationKey, ...]:
        return tuple(sorted(self._requests))

    def state(self, key: ConfigurationKey) -> DiscoveryState | None:
        configuration = self._configurations.get(key)
        request = self._requests.get(key)
        if configuration is None or request is None:
            return None
        endpoints = self.registry.endpoints(request.spec.handler)
        listing = request_listing(
            request.listings(),
            now=self._clock(),
            started=self._started,
            registered=len(endpoints),
            graces=ListingGraces(
                registration_grace=self._timings.registration_grace,
                first_list_grace=self._timings.first_list_grace,
            ),
        )
        return DiscoveryState(
            configuration=configuration,
            instances=desired_instances(configuration, listing.lists, node=self.node),
            endpoints=endpoints,
            reporting=sum(1 for entry in request.listings() if entry.phase is Phase.CURRENT),
            errors=request.errors(),
            listed=listing.listed,
            recheck_after=listing.recheck_after,
        )

    async def close(self) -> None:
        requests = list(self._requests.values())
        self._requests.clear()
        for request in requests:
            await request.close()

    def _unreachable(self, endpoint: Endpoint) -> None:
        if self.registry.remove(endpoint):
            log.info("handler_forgotten", handler=endpoint.handler, endpoint=endpoint.address)
