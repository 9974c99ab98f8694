"""Resolving a Configuration's ``discoveryProperties`` into what ``DiscoverRequest`` carries.

A literal ``value`` becomes its UTF-8 bytes; an entry with neither ``value`` nor ``valueFrom`` is sent
with no bytes at all; a ``valueFrom`` reference is looked up through a ``KeyRefLookup`` (the Kubernetes
one reads Secrets and ConfigMaps). A missing optional reference is left out; any other failure fails
the whole resolution with an error naming the entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from akri_agent.discovery.errors import UnresolvedPropertyError
from akri_common.crds.configuration import DiscoveryProperty, KeyRef

ResolvedProperties = dict[str, bytes | None]


class KeyRefError(Exception):
    """A lookup of one Secret or ConfigMap key failed; ``retryable`` says whether to try again."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        self.reason = reason
        self.retryable = retryable
        super().__init__(reason)


class KeyRefMissingError(KeyRefError):
    """The Secret, ConfigMap or key does not exist."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retryable=True)


KeyRefLookup = Callable[[KeyRef], Awaitable[bytes]]


async def literal_only(ref: KeyRef) -> bytes:
    """The lookup used without a cluster: references cannot be resolved."""
    raise KeyRefError(
        f"valueFrom.{ref.kind}KeyRef {ref.namespace}/{ref.name} needs the Kubernetes API;"
        " only literal values can be resolved here",
        retryable=False,
    )


async def resolve_properties(
    properties: Sequence[DiscoveryProperty], lookup: KeyRefLookup = literal_only
) -> ResolvedProperties:
    """The ``discovery_properties`` map for one ``DiscoverRequest``."""
    resolved: ResolvedProperties = {}
    for index, prop in enumerate(properties):
        if prop.value is not None:
            resolved[prop.name] = prop.value.encode()
        elif prop.value_from is None:
            resolved[prop.name] = None
        else:
            try:
                resolved[prop.name] = await lookup(prop.value_from)
            except KeyRefMissingError as err:
                if prop.value_from.optional:
                    continue
                raise UnresolvedPropertyError(
                    index=index, name=prop.name, reason=err.reason, retryable=True
                ) from err
            except KeyRefError as err:
                raise UnresolvedPropertyError(
                    index=index, name=prop.name, reason=err.reason, retryable=err.retryable
                ) from err
    return resolved
