"""``akri-opcua-discovery-handler`` / ``python -m akri_opcua``: run the OPC UA handler with the SDK."""

from __future__ import annotations

import os
import sys

from akri_common.settings import SettingsError
from akri_handler_sdk import run
from akri_handler_sdk.runner import EXIT_BAD_SETTINGS
from akri_opcua.handler import NAME, OpcuaHandler
from akri_opcua.settings import OpcuaSettings


def main() -> None:
    try:
        settings = OpcuaSettings.from_environment(os.environ)
    except SettingsError as err:
        print(f"{NAME} discovery handler: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    run(OpcuaHandler(settings=settings))


if __name__ == "__main__":
    main()
