"""The registered discovery-handler endpoints, by handler name.

An endpoint is keyed by ``<name>@<address>``: registering the same name and address again replaces
the entry. Pure bookkeeping; the manager decides what to do when an endpoint comes or goes.
"""

from __future__ import annotations

from akri_agent.discovery.model import Endpoint
from akri_common.ids import HandlerName


class EndpointRegistry:
    def __init__(self) -> None:
        self._by_name: dict[HandlerName, dict[str, Endpoint]] = {}

    def add(self, endpoint: Endpoint) -> None:
        self._by_name.setdefault(endpoint.handler, {})[endpoint.uid] = endpoint

    def remove(self, endpoint: Endpoint) -> bool:
        """Removes exactly this endpoint; False if it was replaced or removed already."""
        entries = self._by_name.get(endpoint.handler, {})
        if entries.get(endpoint.uid) != endpoint:
            return False
        del entries[endpoint.uid]
        if not entries:
            del self._by_name[endpoint.handler]
        return True

    def endpoints(self, handler: HandlerName) -> tuple[Endpoint, ...]:
        entries = self._by_name.get(handler, {})
        return tuple(entries[uid] for uid in sorted(entries))

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._by_name.values())
