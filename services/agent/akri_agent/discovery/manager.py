"""The discovery core of a node: registered endpoints and one request per Configuration.

``apply`` is level-based: given a Configuration's current state it creates the request, restarts it
when the handler name, ``discoveryDetails`` or resolved ``discoveryProperties`` changed, or keeps it
(capacity and ``brokerProperties`` only change what ``state`` derives, and are not signalled:
the caller of ``apply`` is reconciling already). ``register`` makes every
request for that handler name stream from a new endpoint at once. ``on_change(key)`` is called
whenever what ``state(key)`` would return may have changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from akri_agent.discovery.desired import DesiredInstance, desired_instances
from akri_agent.discovery.errors import DiscoveryError
from akri_agent.discovery.model import Endpoint
from akri_agent.discovery.observer import DiscoveryObserver
from akri_agent.discovery.properties import KeyRefLookup, literal_only, resolve_properties
from akri_agent.discovery.registry import EndpointRegistry
from akri_agent.discovery.request import DiscoveryRequest, RequestSpec
from akri_common.crds.configuration import Configuration
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
class DiscoveryState:
    """What one Configuration's discovery currently yields on this node."""

    configuration: Configuration
    instances: tuple[DesiredInstance, ...]
    endpoints: tuple[Endpoint, ...]
    reporting: int
    errors: tuple[DiscoveryError, ...]


class DiscoveryManager:
    def __init__(
        self,
        *,
        node: NodeName,
        on_change: Callable[[ConfigurationKey], None],
        lookup: KeyRefLookup = literal_only,
        observer: DiscoveryObserver | None = None,
    ) -> None:
        self.node = node
        self._observer = observer
        self.registry = EndpointRegistry()
        self._on_change = on_change
        self._lookup = lookup
        self._configurations: dict[ConfigurationKey, Configuration] = {}
        self._requests: dict[ConfigurationKey, DiscoveryRequest] = {}

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
        handler = configuration.discovery_handler
        spec = RequestSpec(
            handler=handler.name,
            details=handler.discovery_details,
            properties=await resolve_properties(handler.discovery_properties, self._lookup),
        )
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
        )
        self._requests[key] = request
        for endpoint in self.registry.endpoints(spec.handler):
            request.follow(endpoint)
        self._on_change(key)

    async def remove(self, key: ConfigurationKey) -> None:
        """Stops discovery for a Configuration that is gone."""
        self._configurations.pop(key, None)
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
        lists = request.lists()
        return DiscoveryState(
            configuration=configuration,
            instances=desired_instances(configuration, lists, node=self.node),
            endpoints=self.registry.endpoints(request.spec.handler),
            reporting=len(lists),
            errors=request.errors(),
        )

    def find_instance(self, *, namespace: str, name: str) -> DesiredInstance | None:
        """The Instance this node wants by that name (with the device behind it), if any."""
        for key in self._requests:
            if key.namespace != namespace:
                continue
            state = self.state(key)
            for instance in state.instances if state is not None else ():
                if instance.name == name:
                    return instance
        return None

    async def close(self) -> None:
        requests = list(self._requests.values())
        self._requests.clear()
        for request in requests:
            await request.close()

    def _unreachable(self, endpoint: Endpoint) -> None:
        if self.registry.remove(endpoint):
            log.info("handler_forgotten", handler=endpoint.handler, endpoint=endpoint.address)
