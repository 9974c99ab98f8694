"""``akri-agent``: the agent process of one node."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import structlog

from akri_agent.app import run_agent
from akri_agent.settings import AgentSettings
from akri_common.k8s.errors import ApiError
from akri_common.logging import configure
from akri_common.settings import SettingsError, require_cluster_access
from akri_common.usage import COMMON, parse_usage

VARIABLES = (
    ("AGENT_NODE_NAME", "required: this node's name (the chart sets it from spec.nodeName)"),
    ("DISCOVERY_HANDLERS_DIRECTORY", "required: where agent-registration.sock is served"),
    ("KUBELET_DEVICE_PLUGINS_DIRECTORY", "default /var/lib/kubelet/device-plugins"),
    ("KUBELET_POD_RESOURCES_SOCKET", "default /var/lib/kubelet/pod-resources/kubelet.sock"),
    ("KUBECONFIG", "a kubeconfig file (default: the in-cluster service account)"),
    ("METRICS_PORT", "Prometheus /metrics port (default 8080, 0 = off)"),
    *COMMON,
)


async def _main(settings: AgentSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_agent(settings, stop=stop)


def main(argv: list[str] | None = None) -> int:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog="akri-agent",
        summary="The Akri-py agent of one node: discovery requests, Instances, device plugins.",
        variables=VARIABLES,
    )
    try:
        settings = AgentSettings.from_environment(os.environ)
        require_cluster_access(os.environ)
    except SettingsError as err:
        print(f"akri-agent: {err}", file=sys.stderr)
        return 2
    configure(level=settings.log_level, fmt=settings.log_format, output=settings.log_output)
    try:
        asyncio.run(_main(settings))
    except ApiError as err:
        structlog.get_logger(__name__).error("agent_failed", error=str(err))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
