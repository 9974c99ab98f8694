"""The OPC UA handler's own settings from the environment (the SDK reads the endpoint ones)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from akri_common.settings import Environment

#: Upstream re-reads every 10 s; a held-open channel makes a re-read one request, so 1 s is cheap.
DEFAULT_REFRESH_INTERVAL_SECONDS = 1.0
#: Upstream's TCP connect test allows 3 s; every connect and call here is bounded by this.
DEFAULT_CALL_TIMEOUT_SECONDS = 2.0
DEFAULT_MAX_CONCURRENT_CALLS = 32
DEFAULT_RESOLVE_TTL_SECONDS = 30.0


@dataclass(frozen=True)
class OpcuaSettings:
    refresh_interval_seconds: float = DEFAULT_REFRESH_INTERVAL_SECONDS
    call_timeout_seconds: float = DEFAULT_CALL_TIMEOUT_SECONDS
    max_concurrent_calls: int = DEFAULT_MAX_CONCURRENT_CALLS
    resolve_ttl_seconds: float = DEFAULT_RESOLVE_TTL_SECONDS

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> OpcuaSettings:
        """Reads ``OPCUA_REFRESH_INTERVAL_SECONDS``, ``OPCUA_CALL_TIMEOUT_SECONDS``,
        ``OPCUA_MAX_CONCURRENT_CALLS`` and ``OPCUA_RESOLVE_TTL_SECONDS``; raises
        ``SettingsError`` naming the variable."""
        read = Environment(env)
        return cls(
            refresh_interval_seconds=read.seconds(
                "OPCUA_REFRESH_INTERVAL_SECONDS", DEFAULT_REFRESH_INTERVAL_SECONDS, maximum=600
            ),
            call_timeout_seconds=read.seconds(
                "OPCUA_CALL_TIMEOUT_SECONDS", DEFAULT_CALL_TIMEOUT_SECONDS, maximum=60
            ),
            max_concurrent_calls=read.integer(
                "OPCUA_MAX_CONCURRENT_CALLS", DEFAULT_MAX_CONCURRENT_CALLS, minimum=1, maximum=1024
            ),
            resolve_ttl_seconds=read.seconds(
                "OPCUA_RESOLVE_TTL_SECONDS", DEFAULT_RESOLVE_TTL_SECONDS, maximum=86400
            ),
        )
