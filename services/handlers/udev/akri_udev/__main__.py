"""``akri-udev-discovery-handler`` / ``python -m akri_udev``: run the udev handler with the SDK."""

from __future__ import annotations

import os
import sys

from akri_common.settings import SettingsError
from akri_handler_sdk import run
from akri_handler_sdk.runner import EXIT_BAD_SETTINGS
from akri_udev.handler import NAME, UdevHandler
from akri_udev.settings import UdevSettings


def main() -> None:
    try:
        settings = UdevSettings.from_environment(os.environ)
    except SettingsError as err:
        print(f"{NAME} discovery handler: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    run(UdevHandler(settings))


if __name__ == "__main__":
    main()
