"""``akri-debug-echo-discovery-handler`` / ``python -m akri_debug_echo``: run debugEcho with the SDK."""

from __future__ import annotations

import os
import sys

from akri_common.settings import SettingsError
from akri_common.usage import parse_usage
from akri_debug_echo.handler import NAME, DebugEchoHandler
from akri_debug_echo.settings import DebugEchoSettings
from akri_handler_sdk import run
from akri_handler_sdk.runner import EXIT_BAD_SETTINGS
from akri_handler_sdk.settings import VARIABLES as HANDLER_VARIABLES

VARIABLES = (
    ("DEBUG_ECHO_INSTANCES_SHARED", "required: true or false"),
    ("DEBUG_ECHO_AVAILABILITY_FILE", "default /tmp/debug-echo-availability.txt"),
    *HANDLER_VARIABLES,
)


def main(argv: list[str] | None = None) -> None:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog="akri-debug-echo-discovery-handler",
        summary="The debugEcho discovery handler: one device per description, availability from a file.",
        variables=VARIABLES,
    )
    try:
        settings = DebugEchoSettings.from_environment(os.environ)
    except SettingsError as err:
        print(f"{NAME} discovery handler: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    run(DebugEchoHandler.from_settings(settings))


if __name__ == "__main__":
    main()
