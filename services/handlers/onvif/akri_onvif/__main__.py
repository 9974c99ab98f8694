"""``akri-onvif-discovery-handler`` / ``python -m akri_onvif``: run the ONVIF handler with the SDK."""

from __future__ import annotations

import os
import sys

from akri_common.settings import SettingsError
from akri_handler_sdk import run
from akri_handler_sdk.runner import EXIT_BAD_SETTINGS
from akri_onvif.handler import NAME, OnvifHandler
from akri_onvif.settings import OnvifSettings


def main() -> None:
    try:
        settings = OnvifSettings.from_environment(os.environ)
    except SettingsError as err:
        print(f"{NAME} discovery handler: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    run(OnvifHandler(settings=settings))


if __name__ == "__main__":
    main()
