"""The broker's settings, read once from the environment (names as upstream's sample uses them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from akri_common.logging import Format, Output
from akri_common.settings import Environment, SettingsError
from akri_opcua_broker.values import DISCOVERY_URL, discovery_url, node_id_text

#: Upstream's sample brokers serve gRPC on 8083 (the chart's Services map port 80 to it).
DEFAULT_PORT = 8083
#: Where upstream's chart mounts the ``opcua-broker-credentials`` Secret.
DEFAULT_CERTIFICATES = "/etc/opcua-certs/client-pki"


@dataclass(frozen=True)
class BrokerSettings:
    server_url: str
    identifier: str
    namespace_index: int = 2
    address: str = "[::]"
    port: int = DEFAULT_PORT
    sampling_interval_ms: int = 100
    call_timeout_seconds: float = 4.0
    certificates: Path = Path(DEFAULT_CERTIFICATES)
    log_level: str = "info"
    log_format: Format = "auto"
    log_output: Output = "stderr"

    @property
    def node_id(self) -> str:
        return node_id_text(self.namespace_index, self.identifier)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> BrokerSettings:
        """Reads ``OPCUA_DISCOVERY_URL`` (or a suffixed copy), ``IDENTIFIER``, ``NAMESPACE_INDEX``
        (2), ``BROKER_GRPC_ADDRESS`` (``[::]``), ``BROKER_GRPC_PORT`` (8083),
        ``OPCUA_SAMPLING_INTERVAL_MS`` (100), ``OPCUA_CERTIFICATES_DIRECTORY``, ``LOG_LEVEL`` and
        ``LOG_FORMAT``; raises ``SettingsError`` naming the variable."""
        read = Environment(env)
        url = discovery_url(env)
        if url is None:
            raise SettingsError(DISCOVERY_URL, None, "is required (the agent sets it)")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise SettingsError(DISCOVERY_URL, url, "is not a URL") from None
        if parts.scheme != "opc.tcp" or not parts.hostname or port is None:
            raise SettingsError(DISCOVERY_URL, url, "expected opc.tcp://host:port/...")
        log_format = read.string("LOG_FORMAT", "auto")
        if log_format not in ("auto", "json", "console"):
            raise SettingsError("LOG_FORMAT", log_format, "expected auto, json or console")
        return cls(
            server_url=url,
            identifier=read.string("IDENTIFIER"),
            namespace_index=read.integer("NAMESPACE_INDEX", 2),
            address=read.string("BROKER_GRPC_ADDRESS", "[::]"),
            port=read.integer("BROKER_GRPC_PORT", DEFAULT_PORT, minimum=1),
            sampling_interval_ms=read.integer(
                "OPCUA_SAMPLING_INTERVAL_MS", 100, minimum=1, maximum=3_600_000
            ),
            certificates=read.path("OPCUA_CERTIFICATES_DIRECTORY", DEFAULT_CERTIFICATES),
            log_level=read.string("LOG_LEVEL", "info"),
            log_output=read.log_output(),
            log_format=cast(Format, log_format),
        )
