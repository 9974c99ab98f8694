"""The SDK's typed settings, read once from the environment (names as upstream's Helm chart sets them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from akri_common.logging import Format, Output
from akri_common.settings import Environment, SettingsError
from akri_common.usage import COMMON, Variable

#: Upstream's fixed port for NETWORK endpoints (``DISCOVERY_PORT``).
DEFAULT_DISCOVERY_PORT = 10000
_FORMATS = ("auto", "json", "console")

#: What every handler reads (for ``--help``).
VARIABLES: tuple[Variable, ...] = (
    ("DISCOVERY_HANDLERS_DIRECTORY", "required: where the agent's registration socket is"),
    ("POD_IP", "serve on TCP at this address instead of a Unix socket"),
    ("DISCOVERY_HANDLER_PORT", f"the TCP port with POD_IP (default {DEFAULT_DISCOVERY_PORT})"),
    *COMMON,
)


@dataclass(frozen=True)
class HandlerSettings:
    """Where a handler serves and registers, and how it logs."""

    directory: Path
    pod_ip: str | None = None
    port: int = DEFAULT_DISCOVERY_PORT
    log_level: str = "info"
    log_format: Format = "auto"
    log_output: Output = "stderr"

    @property
    def registration_socket(self) -> Path:
        return self.directory / "agent-registration.sock"

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> HandlerSettings:
        """Reads ``DISCOVERY_HANDLERS_DIRECTORY`` (required), ``POD_IP``, ``DISCOVERY_HANDLER_PORT``
        (0 = any free port), ``LOG_LEVEL`` and ``LOG_FORMAT``; raises ``SettingsError``."""
        read = Environment(env)
        log_format = read.string("LOG_FORMAT", "auto")
        if log_format not in _FORMATS:
            raise SettingsError("LOG_FORMAT", log_format, "expected auto, json or console")
        return cls(
            directory=read.path("DISCOVERY_HANDLERS_DIRECTORY").absolute(),
            pod_ip=read.optional("POD_IP"),
            port=read.integer("DISCOVERY_HANDLER_PORT", DEFAULT_DISCOVERY_PORT),
            log_level=read.string("LOG_LEVEL", "info"),
            log_format=cast(Format, log_format),
            log_output=read.log_output(),
        )
