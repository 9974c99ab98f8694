"""``akri-webhook``: the validating admission webhook for akri.sh Configurations."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import sys

import structlog

from akri_common.k8s.errors import ApiError
from akri_common.logging import configure
from akri_common.settings import SettingsError
from akri_webhook.app import run_webhook
from akri_webhook.settings import WebhookSettings


async def _main(settings: WebhookSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_webhook(settings, stop=stop)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = WebhookSettings.read(sys.argv[1:] if argv is None else argv, os.environ)
    except SettingsError as err:
        print(f"akri-webhook: {err}", file=sys.stderr)
        return 2
    configure(level=settings.log_level, fmt=settings.log_format, output=settings.log_output)
    try:
        asyncio.run(_main(settings))
    except (ApiError, OSError, ssl.SSLError, ValueError) as err:
        # Unreadable certificate or key, a port in use, bad credentials, a bad schemas file.
        structlog.get_logger(__name__).error("webhook_failed", error=str(err))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
