"""Finding a device property in a broker's environment, bare or suffixed.

The device plugin sets every property twice: ``KEY`` and ``KEY_<HASH>`` (the Instance's 6-hex id,
upper case); udev groups add ``KEY_<i>``. A broker takes all of them, in name order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from akri_common.settings import SettingsError


def matching(env: Mapping[str, str], key: str) -> dict[str, str]:
    """Every non-empty ``key`` or ``key_<suffix>`` variable, by name, sorted."""
    pattern = re.compile(rf"{re.escape(key)}(_[A-Z0-9]+)?")
    return {name: env[name] for name in sorted(env) if pattern.fullmatch(name) and env[name]}


def required(env: Mapping[str, str], key: str) -> dict[str, str]:
    """Like ``matching``, but at least one must be set (``SettingsError`` naming ``key``)."""
    found = matching(env, key)
    if not found:
        raise SettingsError(key, None, f"is required (or a suffixed copy, {key}_<HASH>)")
    return found
