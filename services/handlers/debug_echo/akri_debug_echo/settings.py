"""debugEcho's own settings from the environment (the SDK reads the directory and endpoint ones)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from akri_common.settings import Environment

DEFAULT_AVAILABILITY_FILE = "/tmp/debug-echo-availability.txt"


@dataclass(frozen=True)
class DebugEchoSettings:
    shared: bool
    availability_file: Path

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> DebugEchoSettings:
        """Reads ``DEBUG_ECHO_INSTANCES_SHARED`` (required, true/false) and
        ``DEBUG_ECHO_AVAILABILITY_FILE``; raises ``SettingsError`` naming the variable."""
        read = Environment(env)
        return cls(
            shared=read.boolean("DEBUG_ECHO_INSTANCES_SHARED"),
            availability_file=read.path("DEBUG_ECHO_AVAILABILITY_FILE", DEFAULT_AVAILABILITY_FILE),
        )
