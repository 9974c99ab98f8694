"""Pure decisions of the broker: which discovery URL, which node, and a value as an int32."""

from __future__ import annotations

import math
from collections.abc import Mapping

DISCOVERY_URL = "OPCUA_DISCOVERY_URL"
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


class Int32Error(ValueError):
    """A node value that ``ValueResponse.value`` (int32) cannot carry."""


def discovery_url(env: Mapping[str, str]) -> str | None:
    """``OPCUA_DISCOVERY_URL``, else the first ``OPCUA_DISCOVERY_URL_<HASH>`` by name (the agent
    gives both forms; with several Instances in one pod only the suffixed ones are reliable)."""
    if env.get(DISCOVERY_URL):
        return env[DISCOVERY_URL]
    suffixed = sorted(name for name in env if name.startswith(f"{DISCOVERY_URL}_") and env[name])
    return env[suffixed[0]] if suffixed else None


def node_id_text(namespace_index: int, identifier: str) -> str:
    """The node's id as OPC UA writes it: a numeric identifier as ``i=``, else a string ``s=``."""
    kind = "i" if identifier.isdigit() else "s"
    return f"ns={namespace_index};{kind}={identifier}"


def as_int32(value: object) -> int:
    """A numeric or boolean value as an int32 (floats rounded); ``Int32Error`` otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value):
        number = round(value)
    else:
        raise Int32Error(f"the node's value {str(value)[:40]!r} is not a number")
    if not INT32_MIN <= number <= INT32_MAX:
        raise Int32Error(f"the node's value {number} does not fit an int32")
    return number
