"""``akri-udev-discovery-handler`` / ``python -m akri_udev``: run the udev handler with the SDK."""

from __future__ import annotations

import os
import sys

from akri_common.settings import SettingsError
from akri_common.usage import parse_usage
from akri_handler_sdk import run
from akri_handler_sdk.runner import EXIT_BAD_SETTINGS
from akri_handler_sdk.settings import VARIABLES as HANDLER_VARIABLES
from akri_udev.handler import NAME, UdevHandler
from akri_udev.settings import UdevSettings

VARIABLES = (
    ("UDEV_MONITOR_SOURCE", "udev or kernel (default udev)"),
    ("UDEV_RESYNC_INTERVAL_SECONDS", "full re-enumeration period (default 300)"),
    *HANDLER_VARIABLES,
)


def main(argv: list[str] | None = None) -> None:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog="akri-udev-discovery-handler",
        summary="The udev discovery handler: devices matching a Configuration's udev rules, on every uevent.",
        variables=VARIABLES,
    )
    try:
        settings = UdevSettings.from_environment(os.environ)
    except SettingsError as err:
        print(f"{NAME} discovery handler: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    run(UdevHandler(settings))


if __name__ == "__main__":
    main()
