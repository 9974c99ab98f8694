"""The one home of the ``Instance.spec.deviceUsage`` wire format: parsing and rendering. Pure.

An Instance has ``capacity`` slots ``<instance>-<n>``. ``deviceUsage`` maps a slot to ``""`` or no
entry (free), ``<node>`` (used through that node's instance-level plugin) or ``C:<virtual-id>:<node>``
(used through that node's configuration-level plugin, as virtual id ``<configuration>-<m>``).
The agent (its slots) and the controller (freeing a departed node's slots) both read it here, so
they agree on every edge case: a value that is neither form is unreadable and names no node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class UsageParseError(ValueError):
    """A ``deviceUsage`` value that is neither empty, ``<node>`` nor ``C:<virtual-id>:<node>``."""

    def __init__(self, slot: str, value: str) -> None:
        self.slot = slot
        self.value = value
        super().__init__(
            f"spec.deviceUsage[{slot!r}]: expected '<node>' or 'C:<virtual-id>:<node>'"
            f" (got {value[:200]!r})"
        )


@dataclass(frozen=True)
class NodeUsage:
    """Used through the instance-level plugin of ``node``."""

    node: str


@dataclass(frozen=True)
class ConfigurationUsage:
    """Used through the configuration-level plugin of ``node`` as ``virtual_id``."""

    virtual_id: str
    node: str


Usage = NodeUsage | ConfigurationUsage


def parse_usage(slot: str, value: str) -> Usage | None:
    """``None`` for a free slot; raises ``UsageParseError`` for anything unreadable."""
    if value == "":
        return None
    parts = value.split(":")
    if len(parts) == 1:
        return NodeUsage(node=value)
    if len(parts) == 3 and parts[0] == "C" and parts[1] and parts[2]:
        return ConfigurationUsage(virtual_id=parts[1], node=parts[2])
    raise UsageParseError(slot, value)


def render_usage(usage: Usage) -> str:
    if isinstance(usage, NodeUsage):
        return usage.node
    return f"C:{usage.virtual_id}:{usage.node}"


def usage_node(value: str) -> str | None:
    """The node a ``deviceUsage`` value names; ``None`` when free or unreadable."""
    try:
        usage = parse_usage("", value)
    except UsageParseError:
        return None
    return None if usage is None else usage.node


def parse_device_usage(raw: Mapping[str, str]) -> tuple[dict[str, Usage], list[UsageParseError]]:
    """The used slots of a ``deviceUsage`` map, and the entries that could not be read.

    An unreadable entry counts as used by someone else (never offered, never claimed): safer than
    treating a value another writer understands as free.
    """
    used: dict[str, Usage] = {}
    errors: list[UsageParseError] = []
    for slot, value in raw.items():
        try:
            usage = parse_usage(slot, str(value))
        except UsageParseError as err:
            errors.append(err)
            usage = NodeUsage(node=str(value))
        if usage is not None:
            used[slot] = usage
    return used, errors
