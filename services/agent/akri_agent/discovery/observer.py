"""Hooks through which the discovery core reports what happens, for metrics; no-ops by default."""

from __future__ import annotations


class DiscoveryObserver:
    """Receives discovery events; the agent's subclass turns them into Prometheus metrics."""

    def first_list(self, *, configuration: str, handler: str, seconds: float) -> None:
        """A Discover stream delivered its first device list ``seconds`` after it was opened."""

    def result(self, *, handler: str, result: str) -> None:
        """A Discover call ended or delivered: ``ok``, ``invalid_details``, ``lost``, ``unreachable``."""
