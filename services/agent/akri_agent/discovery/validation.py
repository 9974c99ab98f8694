"""Deciding which reported devices the agent accepts.

A handler may send nonsense: empty ids, the same id twice, ids too long to be a sensible key. The
agent keeps every sound device, drops the others, and reports each problem once so the caller can
log one clear warning while everything else keeps flowing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from akri_common.devices import Device

MAX_ID_LENGTH = 1024
MAX_PROPERTY_LENGTH = 64 * 1024


@dataclass(frozen=True)
class Problem:
    device_index: int
    reason: str

    def __str__(self) -> str:
        return f"device[{self.device_index}]: {self.reason}"


def accept_devices(devices: Iterable[Device]) -> tuple[tuple[Device, ...], tuple[Problem, ...]]:
    """The devices to keep, in their order, and a problem for every one dropped."""
    kept: list[Device] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, device in enumerate(devices):
        reason = _problem(device, seen)
        if reason is None:
            seen.add(device.id)
            kept.append(device)
        else:
            problems.append(Problem(index, reason))
    return tuple(kept), tuple(problems)


def _problem(device: Device, seen: set[str]) -> str | None:
    if not device.id:
        return "empty id"
    if len(device.id) > MAX_ID_LENGTH:
        return f"id of {len(device.id)} characters (at most {MAX_ID_LENGTH})"
    if device.id in seen:
        return f"duplicate id {device.id!r}"
    for key, value in device.properties.items():
        if not key:
            return f"property with an empty name on id {device.id!r}"
        if len(value) > MAX_PROPERTY_LENGTH:
            return f"property {key!r} of {len(value)} characters on id {device.id!r}"
    return None
