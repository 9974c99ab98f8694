"""Settings every broker reads: its HTTP port and how it logs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from akri_common.logging import Format, Output
from akri_common.settings import Environment, SettingsError
from akri_common.usage import COMMON, Variable

DEFAULT_PORT = 8080

VARIABLES: tuple[Variable, ...] = (
    ("BROKER_PORT", f"the HTTP port (default {DEFAULT_PORT}; 0 = any free port)"),
    *COMMON,
)


@dataclass(frozen=True)
class BrokerSettings:
    port: int
    log_level: str
    log_format: Format
    log_output: Output = "stderr"

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> BrokerSettings:
        read = Environment(env)
        log_format = read.string("LOG_FORMAT", "auto")
        if log_format not in ("auto", "json", "console"):
            raise SettingsError("LOG_FORMAT", log_format, "expected auto, json or console")
        return cls(
            port=read.integer("BROKER_PORT", DEFAULT_PORT),
            log_level=read.string("LOG_LEVEL", "info"),
            log_format=cast(Format, log_format),
            log_output=read.log_output(),
        )
