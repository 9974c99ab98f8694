"""``akri-controller``: the controller process, one per cluster."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import structlog

from akri_common.k8s.errors import ApiError
from akri_common.logging import configure
from akri_common.settings import SettingsError
from akri_controller.app import run_controller
from akri_controller.settings import ControllerSettings


async def _main(settings: ControllerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_controller(settings, stop=stop)


def main() -> int:
    try:
        settings = ControllerSettings.from_environment(os.environ)
    except SettingsError as err:
        print(f"akri-controller: {err}", file=sys.stderr)
        return 2
    configure(level=settings.log_level, fmt=settings.log_format)
    try:
        asyncio.run(_main(settings))
    except ApiError as err:
        structlog.get_logger(__name__).error("controller_failed", error=str(err))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
