"""The agent's settings, read once from the environment (names as upstream's Helm chart sets them).

Every timing knob of the agent is a ``Timings`` field, read from an ``AGENT_*_SECONDS`` variable
(``services/agent/README.md`` lists them), so that operators and tests turn them without patching
module constants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from akri_agent.env_names import DEFAULT_DENIED, DEFAULT_POLICY, EnvPolicy
from akri_common.ids import NodeName
from akri_common.logging import Format, Output
from akri_common.settings import Environment, SettingsError

MAX_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Timings:
    """The agent's timing knobs, in seconds (defaults below; environment names in ``ENV``)."""

    # A Configuration (and each device plugin) is reconciled at least this often.
    resync: float = 600.0
    # After the agent starts, and after an endpoint becomes unreachable, the devices that handlers
    # reported are kept this long for handlers that have not registered (again) yet.
    registration_grace: float = 10.0
    # A followed endpoint that has not sent its first device list (it is silent, or each Discover
    # fails) keeps the devices it reported before for this long; past it, it counts as listing none.
    first_list_grace: float = 30.0
    # A handler that accepted Discover but sent no list this long is reported (once per call).
    first_list_warning: float = 10.0
    # Retrying an unresolved ``valueFrom`` discovery property (a missing Secret, say).
    property_retry: float = 5.0
    # Failed reconciles are retried with a doubling delay capped at this.
    retry_cap: float = 15.0
    # After a kubelet restart, a plugin's registration is retried quickly until this deadline.
    reregister_deadline: float = 5.0
    # The slot reclaimer asks kubelet's pod-resources API this often...
    reclaim_interval: float = 5.0
    # ...and frees a slot kubelet has never reported after this long.
    reclaim_grace: float = 20.0


ENV: Mapping[str, str] = {
    "resync": "AGENT_RESYNC_SECONDS",
    "registration_grace": "AGENT_REGISTRATION_GRACE_SECONDS",
    "first_list_grace": "AGENT_FIRST_LIST_GRACE_SECONDS",
    "first_list_warning": "AGENT_FIRST_LIST_WARNING_SECONDS",
    "property_retry": "AGENT_PROPERTY_RETRY_SECONDS",
    "retry_cap": "AGENT_RETRY_CAP_SECONDS",
    "reregister_deadline": "AGENT_REREGISTER_DEADLINE_SECONDS",
    "reclaim_interval": "AGENT_RECLAIM_INTERVAL_SECONDS",
    "reclaim_grace": "AGENT_RECLAIM_GRACE_SECONDS",
}


def read_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative number of seconds (fractions allowed) from ``name``, or ``default``."""
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise SettingsError(name, value[:64], "expected a number of seconds") from None
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_SECONDS:
        raise SettingsError(name, value[:64], f"expected seconds from 0 to {MAX_SECONDS:g}")
    return seconds


def read_timings(env: Mapping[str, str]) -> Timings:
    defaults = Timings()
    values = {key: read_seconds(env, name, getattr(defaults, key)) for key, name in ENV.items()}
    return Timings(**values)


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
    timings: Timings = field(default_factory=Timings)

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
            timings=read_timings(env),
        )
