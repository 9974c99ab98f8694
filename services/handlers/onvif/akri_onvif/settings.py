"""The ONVIF handler's own settings from the environment (the SDK reads the endpoint ones)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from akri_common.settings import Environment

#: Upstream probes every 10 s; Hello and Bye make changes show at once, so this is only a safety net.
DEFAULT_PROBE_INTERVAL_SECONDS = 10.0
DEFAULT_CALL_TIMEOUT_SECONDS = 1.0
DEFAULT_MAX_CONCURRENT_CALLS = 32


@dataclass(frozen=True)
class OnvifSettings:
    probe_interval_seconds: float = DEFAULT_PROBE_INTERVAL_SECONDS
    call_timeout_seconds: float = DEFAULT_CALL_TIMEOUT_SECONDS
    max_concurrent_calls: int = DEFAULT_MAX_CONCURRENT_CALLS
    #: Loopback and link-local XAddrs are refused unless this is set (see ``xaddrs``).
    allow_local_xaddrs: bool = False
    #: ``/metrics`` (the not-listed reasons counter) on this port; 0 serves none.
    metrics_port: int = 0

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> OnvifSettings:
        """Reads ``ONVIF_PROBE_INTERVAL_SECONDS``, ``ONVIF_CALL_TIMEOUT_SECONDS``,
        ``ONVIF_MAX_CONCURRENT_CALLS``, ``ONVIF_ALLOW_LOCAL_XADDRS`` and ``METRICS_PORT``; raises
        ``SettingsError`` naming the variable."""
        read = Environment(env)
        return cls(
            probe_interval_seconds=read.seconds(
                "ONVIF_PROBE_INTERVAL_SECONDS", DEFAULT_PROBE_INTERVAL_SECONDS, maximum=3600
            ),
            call_timeout_seconds=read.seconds(
                "ONVIF_CALL_TIMEOUT_SECONDS", DEFAULT_CALL_TIMEOUT_SECONDS, maximum=60
            ),
            max_concurrent_calls=read.integer(
                "ONVIF_MAX_CONCURRENT_CALLS", DEFAULT_MAX_CONCURRENT_CALLS, minimum=1, maximum=1024
            ),
            allow_local_xaddrs=read.boolean("ONVIF_ALLOW_LOCAL_XADDRS", False),
            metrics_port=read.integer("METRICS_PORT", 0),
        )
