"""``akri-onvif-discovery-handler`` / ``python -m akri_onvif``: run the ONVIF handler with the SDK."""

from __future__ import annotations

import os
import sys

from akri_common.settings import SettingsError
from akri_common.usage import parse_usage
from akri_handler_sdk import run
from akri_handler_sdk.runner import EXIT_BAD_SETTINGS
from akri_handler_sdk.settings import VARIABLES as HANDLER_VARIABLES
from akri_onvif.handler import NAME, OnvifHandler
from akri_onvif.settings import OnvifSettings

VARIABLES = (
    ("ONVIF_PROBE_INTERVAL_SECONDS", "period of WS-Discovery probes"),
    ("ONVIF_CALL_TIMEOUT_SECONDS", "deadline of one ONVIF call"),
    ("ONVIF_MAX_CONCURRENT_CALLS", "ONVIF calls in flight at most"),
    *HANDLER_VARIABLES,
)


def main(argv: list[str] | None = None) -> None:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog="akri-onvif-discovery-handler",
        summary="The ONVIF discovery handler: WS-Discovery Hello/Bye and probes, ONVIF device queries.",
        variables=VARIABLES,
    )
    try:
        settings = OnvifSettings.from_environment(os.environ)
    except SettingsError as err:
        print(f"{NAME} discovery handler: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    run(OnvifHandler(settings=settings))


if __name__ == "__main__":
    main()
