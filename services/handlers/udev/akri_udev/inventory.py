"""The handler's current matches and how one uevent changes them (pure decisions).

Matches are kept by the devpath of the device that matched. A ``remove`` drops the device and
everything under it; any other action (``add``, ``change``, ``bind``, ``unbind``, ``move``...)
drops the same and has the device's subtree decided again, since a change to a device can change
what its descendants match (``ATTRS``, ``DRIVERS``...). A ``move`` also drops the old devpath.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from akri_udev.devices import is_under
from akri_udev.matching import Match
from akri_udev.monitor import Uevent

REMOVE = "remove"


@dataclass(frozen=True)
class Step:
    """What to do for one uevent: subtrees to forget, and the subtree to decide again (if any)."""

    drop: tuple[str, ...]
    rescan: str | None


def plan(event: Uevent) -> Step:
    drop = (event.devpath,) if event.old_devpath is None else (event.old_devpath, event.devpath)
    return Step(drop=drop, rescan=None if event.action == REMOVE else event.devpath)


def without_subtree(found: Mapping[str, Match], devpath: str) -> dict[str, Match]:
    """The matches, less those at or under ``devpath``."""
    return {source: match for source, match in found.items() if not is_under(source, devpath)}
