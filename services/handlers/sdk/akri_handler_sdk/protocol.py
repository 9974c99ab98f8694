"""The one small protocol a discovery-handler author implements.

A handler has a ``name`` (matching ``Configuration.spec.discoveryHandler.name``), says whether its
devices are ``shared`` between nodes, parses a Configuration's ``discoveryDetails`` into a value of
its own type, and, given those details, yields the complete current device list whenever it changes.
The SDK does the rest: serving, registration, re-registration, sending only changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Protocol, TypeVar

from akri_common.devices import Device

DetailsT = TypeVar("DetailsT")


class DiscoveryHandler(Protocol[DetailsT]):
    """What ``run``/``serve`` need from a handler."""

    @property
    def name(self) -> str:
        """The handler name registered with the agent (``udev``, ``onvif``, ``debugEcho``...)."""
        ...

    @property
    def shared(self) -> bool:
        """True when the same device may be seen from several nodes (IP cameras)."""
        ...

    def parse_details(self, details: str, properties: Mapping[str, bytes | None]) -> DetailsT:
        """Parses ``discoveryDetails``; raises ``InvalidDetailsError(field, reason)`` when wrong."""
        ...

    def discover(self, details: DetailsT) -> AsyncIterator[Sequence[Device]]:
        """Yields the full current device list at once, then again whenever it may have changed.

        Yielding an unchanged list is harmless (the SDK drops it). The iterator is closed when the
        agent goes away, so an async generator may keep resources in ``try/finally`` or ``with``.
        """
        ...
