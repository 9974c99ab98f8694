"""``akri-video-streaming-app`` / ``python -m akri_streaming``: every camera, live, in a web page.

A bad variable prints one line naming it and exits 2; a port in use or unusable cluster
credentials log ``streaming_failed`` and exit 1; SIGTERM or SIGINT stops it (exit 0).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import structlog

from akri_common.k8s.errors import ApiError
from akri_common.logging import configure
from akri_common.settings import SettingsError
from akri_common.usage import COMMON, parse_usage
from akri_streaming.app import run_app
from akri_streaming.settings import StreamingSettings

VARIABLES = (
    ("CONFIGURATION_NAME", "watch mode: show the cameras (Services) of this Configuration"),
    ("CONFIGURATION_NAMESPACE", "watch mode: its namespace (default: every namespace)"),
    ("CAMERA_COUNT", "fixed mode (no CONFIGURATION_NAME): the number of CAMERA<n>_SOURCE_SVC"),
    ("CAMERA<n>_SOURCE_SVC", "fixed mode: camera n (1..CAMERA_COUNT), host (port 80) or host:port"),
    ("CAMERAS_SOURCE_SVC", "fixed mode, optional: the 'any camera' tile (a configuration Service)"),
    ("STREAMING_HOST", "where the page is served (default 0.0.0.0)"),
    ("STREAMING_PORT", "its port (default 5000)"),
    ("STREAMING_FRAME_RATE", "GetFrame calls per second per camera, 1 to 30 (default 10)"),
    ("STREAMING_MAX_CAMERAS", "tiles at most (default 16)"),
    ("STREAMING_MAX_FRAME_BYTES", "a larger frame is refused (default 4194304)"),
    ("STREAMING_MAX_VIEWERS", "open video streams at most (default 64)"),
    ("STREAMING_FETCH_FRAMES", "false: follow the cameras but fetch no frame (default true)"),
    ("STREAMING_SOURCE_OVERRIDE", "host:port every frame loop dials instead (tests, debugging)"),
    ("KUBECONFIG", "watch mode: the cluster (default: the in-cluster service account)"),
    *COMMON,
)


async def _main(settings: StreamingSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_app(settings, stop=stop)


def main(argv: list[str] | None = None) -> int:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog="akri-video-streaming-app",
        summary="Shows every camera of a Configuration (or a fixed list), live, in a web page.",
        variables=VARIABLES,
    )
    try:
        settings = StreamingSettings.from_environment(os.environ)
        configure(level=settings.log_level, fmt=settings.log_format, output=settings.log_output)
    except (SettingsError, ValueError) as err:
        print(f"akri-video-streaming-app: {err}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_main(settings))
    except (ApiError, OSError) as err:  # a port in use, unusable cluster credentials
        structlog.get_logger(__name__).error("streaming_failed", error=str(err)[:300])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
