"""``run(handler)``: the one call a handler's ``main`` makes.

It reads the settings from the environment once (a bad variable prints one line naming it and
exits 2), configures logging, serves and registers the handler, and on SIGTERM or SIGINT stops the
server, removes the socket, cancels and awaits every task, and exits 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from typing import Any

import structlog

from akri_common.logging import configure
from akri_common.settings import SettingsError
from akri_handler_sdk.errors import ServeError
from akri_handler_sdk.protocol import DiscoveryHandler
from akri_handler_sdk.server import serve
from akri_handler_sdk.settings import HandlerSettings

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_SETTINGS = 2


def run(handler: DiscoveryHandler[Any], *, environ: Mapping[str, str] | None = None) -> None:
    """Runs ``handler`` until SIGTERM/SIGINT, then exits the process (0 after a clean stop)."""
    try:
        settings = HandlerSettings.from_environment(os.environ if environ is None else environ)
        configure(level=settings.log_level, fmt=settings.log_format, output=settings.log_output)
    except (SettingsError, ValueError) as err:
        print(f"{handler.name} discovery handler: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    failure: ServeError | None = None
    try:
        asyncio.run(run_until_signalled(handler, settings))
    except ServeError as err:
        failure = err
    if failure is not None:
        log.error("serve_failed", handler=handler.name, error=str(failure))
        raise SystemExit(EXIT_FAILED)
    raise SystemExit(EXIT_OK)


async def run_until_signalled(handler: DiscoveryHandler[Any], settings: HandlerSettings) -> None:
    """Serves until SIGTERM or SIGINT arrives, then cancels and awaits the server."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    server = asyncio.create_task(serve(handler, settings), name="serve")
    stopping = asyncio.create_task(stop.wait(), name="wait-for-signal")
    try:
        await asyncio.wait({server, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            log.info("stopping", handler=handler.name, reason="signal")
    finally:
        for task in (server, stopping):
            task.cancel()
        await asyncio.wait({server, stopping})
        for signum in signals:
            loop.remove_signal_handler(signum)
    failure = None if server.cancelled() else server.exception()
    if failure is not None:
        raise failure
