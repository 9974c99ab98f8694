"""The udev handler's own settings from the environment (the SDK reads the endpoint ones)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from akri_common.settings import Environment, SettingsError

DEFAULT_RESYNC_SECONDS = 300
MAX_RESYNC_SECONDS = 86_400
MONITOR_SOURCES = ("udev", "kernel")


@dataclass(frozen=True)
class UdevSettings:
    #: Seconds between full re-enumerations, which guard against missed uevents.
    resync_seconds: int = DEFAULT_RESYNC_SECONDS
    #: ``udev`` (events after udevd processed them, the default) or ``kernel`` (raw kernel events,
    #: for nodes without udevd).
    monitor_source: str = "udev"

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> UdevSettings:
        """Reads ``UDEV_RESYNC_INTERVAL_SECONDS`` (1..86400, default 300) and
        ``UDEV_MONITOR_SOURCE`` (udev or kernel); raises ``SettingsError`` naming the variable."""
        read = Environment(env)
        source = read.string("UDEV_MONITOR_SOURCE", "udev")
        if source not in MONITOR_SOURCES:
            raise SettingsError("UDEV_MONITOR_SOURCE", source, "expected udev or kernel")
        return cls(
            resync_seconds=read.integer(
                "UDEV_RESYNC_INTERVAL_SECONDS",
                DEFAULT_RESYNC_SECONDS,
                minimum=1,
                maximum=MAX_RESYNC_SECONDS,
            ),
            monitor_source=source,
        )
