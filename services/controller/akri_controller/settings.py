"""The controller's settings, read once from the environment (names as upstream's Helm chart sets them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from akri_common.logging import Format, Output
from akri_common.settings import Environment, SettingsError

DEFAULT_PENDING_GRACE_SECONDS = 300


@dataclass(frozen=True)
class ControllerSettings:
    metrics_port: int
    kubeconfig: Path | None
    log_level: str
    log_format: Format
    broker_pending_grace: timedelta
    log_output: Output = "stderr"

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> ControllerSettings:
        read = Environment(env)
        kubeconfig = read.optional("KUBECONFIG")
        log_format = read.string("LOG_FORMAT", "auto")
        if log_format not in ("auto", "json", "console"):
            raise SettingsError("LOG_FORMAT", log_format, "expected auto, json or console")
        grace = read.integer(
            "BROKER_PENDING_GRACE_SECONDS",
            DEFAULT_PENDING_GRACE_SECONDS,
            minimum=0,
            maximum=7 * 24 * 3600,
        )
        return cls(
            metrics_port=read.integer("METRICS_PORT", 8080),
            kubeconfig=Path(kubeconfig) if kubeconfig else None,
            log_level=read.string("LOG_LEVEL", "info"),
            log_format=log_format,  # type: ignore[arg-type]
            log_output=read.log_output(),
            broker_pending_grace=timedelta(seconds=grace),
        )
