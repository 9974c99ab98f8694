"""``akri-controller``: the controller process, one per cluster."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import structlog

from akri_common.k8s.errors import ApiError
from akri_common.logging import configure
from akri_common.settings import SettingsError, require_cluster_access
from akri_common.usage import COMMON, parse_usage
from akri_controller.app import run_controller
from akri_controller.settings import ControllerSettings

VARIABLES = (
    ("KUBECONFIG", "a kubeconfig file (required outside a cluster; else the service account)"),
    ("METRICS_PORT", "Prometheus /metrics port (default 8080, 0 = off)"),
    ("BROKER_PENDING_GRACE_SECONDS", "how long a Pending broker pod is left alone (default 300)"),
    *COMMON,
)


async def _main(settings: ControllerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_controller(settings, stop=stop)


def main(argv: list[str] | None = None) -> int:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog="akri-controller",
        summary="The Akri-py controller: broker pods and Jobs, and Services, for Instances.",
        variables=VARIABLES,
    )
    try:
        settings = ControllerSettings.from_environment(os.environ)
        require_cluster_access(os.environ)
    except SettingsError as err:
        print(f"akri-controller: {err}", file=sys.stderr)
        return 2
    configure(level=settings.log_level, fmt=settings.log_format, output=settings.log_output)
    try:
        asyncio.run(_main(settings))
    except ApiError as err:
        structlog.get_logger(__name__).error("controller_failed", error=str(err))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
