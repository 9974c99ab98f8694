"""``python -m akri_brokers.udev``: open the device node(s) given by UDEV_DEVNODE and report."""

from __future__ import annotations

import asyncio
import os
import sys

import structlog

from akri_brokers.responder import serve_until_signalled
from akri_brokers.settings import VARIABLES, BrokerSettings
from akri_brokers.udev import PROGRAM, devnodes, report
from akri_common.logging import configure
from akri_common.settings import SettingsError
from akri_common.usage import parse_usage

SUMMARY = (
    "udev broker: opens the device node(s) the device plugin gave this pod, reads a few bytes "
    "without blocking, and reports each one (GET / on BROKER_PORT, as JSON; also logged at start)."
)
OWN: tuple[tuple[str, str], ...] = (
    (
        "UDEV_DEVNODE",
        "required: the device node, e.g. /dev/video0 (set by the device plugin;"
        " UDEV_DEVNODE_<i> and UDEV_DEVNODE_<HASH> copies are read too)",
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
        nodes = devnodes(os.environ)
        configure(level=settings.log_level, fmt=settings.log_format, output=settings.log_output)
    except (SettingsError, ValueError) as err:
        print(f"{PROGRAM}: {err}", file=sys.stderr)
        return 2
    log = structlog.get_logger(__name__)
    for device in report(nodes)["devices"]:
        log.info("device_probed", **device)
    failure: OSError | None = None
    try:
        asyncio.run(
            serve_until_signalled(port=settings.port, report=lambda: report(nodes), name=PROGRAM)
        )
    except OSError as err:  # the port is taken
        failure = err
    if failure is not None:
        log.error("broker_failed", error=str(failure))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
