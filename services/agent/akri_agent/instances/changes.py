"""Which Instance changes can change a Configuration reconcile's outcome. Pure.

The Configuration reconcile reads, of each Instance: its uid, whether it is being deleted, its
owner and the spec fields a node writes (``configurationName``, ``cdiName``, ``capacity``,
``brokerProperties``, ``shared``, ``nodes``). A change elsewhere (``deviceUsage`` after an
``Allocate`` or a reclaim, finalizers, ``managedFields``, labels) goes to the device plugins only,
so the agent's own slot writes never re-run the reconcile (no Secret read, no apply).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class View:
    """The parts of one Instance that a Configuration reconcile reads."""

    configuration: str
    fields: tuple[object, ...]


def configuration_view(obj: Mapping[str, Any] | None) -> View | None:
    """What of an Instance the Configuration reconcile depends on (``None``: no Instance)."""
    if obj is None:
        return None
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    owners = tuple(
        sorted(str(o.get("uid", "")) for o in metadata.get("ownerReferences") or () if o)
    )
    fields = (
        metadata.get("uid"),
        bool(metadata.get("deletionTimestamp")),
        owners,
        spec.get("configurationName"),
        spec.get("cdiName"),
        spec.get("capacity"),
        tuple(sorted((spec.get("brokerProperties") or {}).items())),
        spec.get("shared"),
        tuple(spec.get("nodes") or ()),
    )
    return View(configuration=str(spec.get("configurationName") or ""), fields=fields)


def concerns_configuration(before: View | None, after: View | None) -> bool:
    """Whether the change from ``before`` to ``after`` must reach the Configuration reconcile."""
    return before != after
