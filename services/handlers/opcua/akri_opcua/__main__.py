"""``akri-opcua-discovery-handler`` / ``python -m akri_opcua``: run the OPC UA handler with the SDK."""

from __future__ import annotations

import os
import sys

from akri_common.settings import SettingsError
from akri_common.usage import parse_usage
from akri_handler_sdk import run
from akri_handler_sdk.runner import EXIT_BAD_SETTINGS
from akri_handler_sdk.settings import VARIABLES as HANDLER_VARIABLES
from akri_opcua.handler import NAME, OpcuaHandler
from akri_opcua.settings import OpcuaSettings

VARIABLES = (
    (
        "OPCUA_REFRESH_INTERVAL_SECONDS",
        "how often a Local Discovery Server is read again (default 1)",
    ),
    ("OPCUA_CALL_TIMEOUT_SECONDS", "the bound on every OPC UA call (default 2)"),
    ("OPCUA_MAX_CONCURRENT_CALLS", "OPC UA calls in flight at once (default 32)"),
    ("OPCUA_RESOLVE_TTL_SECONDS", "how long a host name lookup is kept (default 30)"),
    *HANDLER_VARIABLES,
)


def main(argv: list[str] | None = None) -> None:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog="akri-opcua-discovery-handler",
        summary="The OPC UA discovery handler: servers found by FindServers on servers and LDSs.",
        variables=VARIABLES,
    )
    try:
        settings = OpcuaSettings.from_environment(os.environ)
    except SettingsError as err:
        print(f"{NAME} discovery handler: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    run(OpcuaHandler(settings=settings))


if __name__ == "__main__":
    main()
