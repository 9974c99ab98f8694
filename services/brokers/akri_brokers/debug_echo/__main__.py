"""``python -m akri_brokers.debug_echo``: serve the debugEcho device's environment over HTTP."""

from __future__ import annotations

import asyncio
import os
import sys

import structlog

from akri_brokers.debug_echo import PROGRAM, echoed
from akri_brokers.responder import serve_until_signalled
from akri_brokers.settings import VARIABLES, BrokerSettings
from akri_common.logging import configure
from akri_common.settings import SettingsError
from akri_common.usage import parse_usage

SUMMARY = (
    "debugEcho broker: serves (GET / on BROKER_PORT, as JSON) the DEBUG_ECHO_* environment "
    "variables the device plugin gave this pod, and logs them once at start."
)
OWN: tuple[tuple[str, str], ...] = (
    ("DEBUG_ECHO_DESCRIPTION", "required: the device (set by the agent's device plugin)"),
    (
        "BROKER_ECHO_VARIABLES",
        "comma-separated extra variable names to serve (e.g. brokerProperties)",
    ),
)


def main(argv: list[str] | None = None) -> int:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog=PROGRAM,
        summary=SUMMARY,
        variables=(*OWN, *VARIABLES),
    )
    try:
        settings = BrokerSettings.from_environment(os.environ)
        served = echoed(os.environ, os.environ.get("BROKER_ECHO_VARIABLES"))
        configure(level=settings.log_level, fmt=settings.log_format, output=settings.log_output)
    except (SettingsError, ValueError) as err:
        print(f"{PROGRAM}: {err}", file=sys.stderr)
        return 2
    log = structlog.get_logger(__name__)
    log.info("device_environment", variables=served)
    failure: OSError | None = None
    try:
        asyncio.run(serve_until_signalled(port=settings.port, report=lambda: served, name=PROGRAM))
    except OSError as err:  # the port is taken
        failure = err
    if failure is not None:
        log.error("broker_failed", error=str(failure))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
