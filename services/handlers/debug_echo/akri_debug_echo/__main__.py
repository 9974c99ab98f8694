"""``akri-debug-echo-discovery-handler`` / ``python -m akri_debug_echo``: run debugEcho with the SDK."""

from __future__ import annotations

import os
import sys

from akri_common.settings import SettingsError
from akri_debug_echo.handler import NAME, DebugEchoHandler
from akri_debug_echo.settings import DebugEchoSettings
from akri_handler_sdk import run
from akri_handler_sdk.runner import EXIT_BAD_SETTINGS


def main() -> None:
    try:
        settings = DebugEchoSettings.from_environment(os.environ)
    except SettingsError as err:
        print(f"{NAME} discovery handler: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    run(DebugEchoHandler.from_settings(settings))


if __name__ == "__main__":
    main()
