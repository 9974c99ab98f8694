"""The webhook's settings: upstream's command-line flags, and the environment every process reads.

Flags as upstream's chart passes them: ``--tls-crt-file``, ``--tls-key-file``, ``--port`` (8443).
Environment: ``KUBECONFIG`` (else the in-cluster account), ``METRICS_PORT`` (8080, 0 = off),
``SCHEMA_REFRESH_SECONDS`` (3600), ``LOG_LEVEL``, ``LOG_FORMAT``, and the limits that keep one
client from blocking the others: ``WEBHOOK_MAX_CONNECTIONS`` (256 open connections),
``WEBHOOK_REQUEST_TIMEOUT_SECONDS`` (10: a TLS handshake, the headers of a request after the
previous one, or a body, must arrive within it, else the connection is cut) and
``WEBHOOK_VALIDATION_TIMEOUT_SECONDS`` (5: a review taking longer is denied). ``--schemas-file`` reads the
Kubernetes schemas from a file written by ``python -m akri_webhook.source`` instead of the API
server (for air-gapped use and tests).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from akri_common.logging import Format, Output
from akri_common.settings import Environment, SettingsError


@dataclass(frozen=True)
class WebhookSettings:
    tls_crt_file: Path
    tls_key_file: Path
    port: int
    host: str
    metrics_port: int
    schema_refresh_seconds: int
    schemas_file: Path | None
    kubeconfig: Path | None
    log_level: str
    log_format: Format
    log_output: Output = "stderr"
    max_connections: int = 256
    request_timeout_seconds: int = 10
    validation_timeout_seconds: int = 5

    @classmethod
    def read(cls, argv: Sequence[str], env: Mapping[str, str]) -> WebhookSettings:
        """From command-line flags and the environment; raises ``SettingsError`` or exits on
        bad flags (argparse prints the usage)."""
        parser = argparse.ArgumentParser(
            prog="akri-webhook", description="Validates akri.sh Configurations (admission webhook)."
        )
        parser.add_argument(
            "--tls-crt-file", type=Path, required=True, help="PEM certificate chain"
        )
        parser.add_argument("--tls-key-file", type=Path, required=True, help="PEM private key")
        parser.add_argument("--port", type=int, default=8443, help="HTTPS port (default 8443)")
        parser.add_argument("--host", default="0.0.0.0", help="address to listen on")  # noqa: S104
        parser.add_argument(
            "--schemas-file", type=Path, help="Kubernetes schemas, instead of the API server"
        )
        args = parser.parse_args(list(argv))
        if not 0 <= args.port <= 65535:
            raise SettingsError("--port", str(args.port), "expected a number from 0 to 65535")
        read = Environment(env)
        log_format = read.string("LOG_FORMAT", "auto")
        if log_format not in ("auto", "json", "console"):
            raise SettingsError("LOG_FORMAT", log_format, "expected auto, json or console")
        kubeconfig = read.optional("KUBECONFIG")
        return cls(
            tls_crt_file=args.tls_crt_file,
            tls_key_file=args.tls_key_file,
            port=args.port,
            host=args.host,
            metrics_port=read.integer("METRICS_PORT", 8080),
            schema_refresh_seconds=read.integer(
                "SCHEMA_REFRESH_SECONDS", 3600, minimum=10, maximum=7 * 24 * 3600
            ),
            schemas_file=args.schemas_file,
            kubeconfig=Path(kubeconfig) if kubeconfig else None,
            log_level=read.string("LOG_LEVEL", "info"),
            log_format=log_format,  # type: ignore[arg-type]
            log_output=read.log_output(),
            max_connections=read.integer("WEBHOOK_MAX_CONNECTIONS", 256, minimum=1, maximum=65535),
            request_timeout_seconds=read.integer(
                "WEBHOOK_REQUEST_TIMEOUT_SECONDS", 10, minimum=1, maximum=300
            ),
            validation_timeout_seconds=read.integer(
                "WEBHOOK_VALIDATION_TIMEOUT_SECONDS", 5, minimum=1, maximum=60
            ),
        )
