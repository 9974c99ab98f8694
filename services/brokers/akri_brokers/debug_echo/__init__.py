"""The debugEcho broker: serves the ``DEBUG_ECHO_*`` variables its pod was given."""

from __future__ import annotations

from collections.abc import Mapping

from akri_brokers.variables import matching, required

PROGRAM = "akri-debug-echo-broker"
PREFIX = "DEBUG_ECHO_"


def echoed(env: Mapping[str, str], extra_names: str | None) -> dict[str, str]:
    """The variables the broker serves: every ``DEBUG_ECHO_*`` one and the listed extra names.

    Raises ``SettingsError`` when no ``DEBUG_ECHO_DESCRIPTION`` (bare or suffixed) is set.
    """
    required(env, "DEBUG_ECHO_DESCRIPTION")
    served = {name: value for name, value in env.items() if name.startswith(PREFIX)}
    for name in (extra_names or "").split(","):
        if name.strip():
            served.update(matching(env, name.strip()))
    return dict(sorted(served.items()))
