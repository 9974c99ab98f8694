"""The agent's settings, read once from the environment (names as upstream's Helm chart sets them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from akri_agent.env_names import DEFAULT_DENIED, DEFAULT_POLICY, EnvPolicy
from akri_common.ids import NodeName
from akri_common.logging import Format, Output
from akri_common.settings import Environment, SettingsError


@dataclass(frozen=True)
class AgentSettings:
    node_name: NodeName
    discovery_handlers_directory: Path
    device_plugins_directory: Path
    pod_resources_socket: Path
    metrics_port: int
    kubeconfig: Path | None
    log_level: str
    log_format: Format
    log_output: Output = "stderr"
    #: ``AGENT_ENV_DENY_LIST``: property names never set in a broker's environment.
    env_policy: EnvPolicy = DEFAULT_POLICY

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> AgentSettings:
        read = Environment(env)
        kubeconfig = read.optional("KUBECONFIG")
        log_format = read.string("LOG_FORMAT", "auto")
        if log_format not in ("auto", "json", "console"):
            raise SettingsError("LOG_FORMAT", log_format, "expected auto, json or console")
        return cls(
            node_name=NodeName(read.string("AGENT_NODE_NAME")),
            discovery_handlers_directory=read.path("DISCOVERY_HANDLERS_DIRECTORY"),
            device_plugins_directory=read.path(
                "KUBELET_DEVICE_PLUGINS_DIRECTORY", "/var/lib/kubelet/device-plugins"
            ),
            pod_resources_socket=read.path(
                "KUBELET_POD_RESOURCES_SOCKET", "/var/lib/kubelet/pod-resources/kubelet.sock"
            ),
            metrics_port=read.integer("METRICS_PORT", 8080),
            kubeconfig=Path(kubeconfig) if kubeconfig else None,
            log_level=read.string("LOG_LEVEL", "info"),
            log_format=log_format,  # type: ignore[arg-type]
            log_output=read.log_output(),
            env_policy=EnvPolicy.parse(
                read.string("AGENT_ENV_DENY_LIST", ",".join(DEFAULT_DENIED))
            ),
        )
