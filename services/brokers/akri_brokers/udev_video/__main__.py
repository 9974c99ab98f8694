"""``akri-udev-video-broker`` / ``python -m akri_brokers.udev_video``: JPEG frames over gRPC.

Reads its settings once (a bad variable prints one line naming it and exits 2), starts the capture
thread and serves ``camera.Camera`` on ``BROKER_GRPC_ADDRESS:BROKER_GRPC_PORT``; SIGTERM or SIGINT
stops the server and the thread and exits 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading

import grpc
import structlog

from akri_brokers.udev_video import PROGRAM
from akri_brokers.udev_video.capture import POLL_SECONDS, Capturer
from akri_brokers.udev_video.frames import FrameStore
from akri_brokers.udev_video.servicer import CameraServicer
from akri_brokers.udev_video.settings import VARIABLES, VideoSettings
from akri_common.logging import configure
from akri_common.settings import SettingsError
from akri_common.usage import COMMON, parse_usage
from akri_proto.camera import camera_pb2_grpc as pb_grpc

log = structlog.get_logger(__name__)

EXIT_BAD_SETTINGS = 2
EXIT_FAILED = 1
STOP_GRACE_SECONDS = 1.0
#: Requests are empty messages; concurrent calls are bounded.
MAX_REQUEST_BYTES = 4096
MAX_CONCURRENT_RPCS = 64

SUMMARY = (
    "udev video broker: captures MJPEG frames from the V4L2 camera the device plugin gave this "
    "pod and serves the newest one over upstream's camera.Camera gRPC service (GetFrame)."
)


async def serve(settings: VideoSettings) -> int:
    store = FrameStore(settings.devnode)
    store.attach(asyncio.get_running_loop())
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", MAX_REQUEST_BYTES)],
        maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
    )
    pb_grpc.add_CameraServicer_to_server(CameraServicer(store), server)
    address = f"{settings.address}:{settings.port}"
    try:
        server.add_insecure_port(address)
    except RuntimeError as err:
        log.error("bind_failed", address=address, error=str(err))  # noqa: TRY400 - no traceback
        return EXIT_FAILED
    stop_capture = threading.Event()
    capturer = Capturer(settings, store, stop_capture)
    thread = threading.Thread(target=capturer.run, name="camera-capture", daemon=True)
    thread.start()
    await server.start()
    log.info("broker_serving", address=address, devnode=settings.devnode)
    if settings.other_devnodes:
        log.warning(
            "devnodes_ignored", devnode=settings.devnode, ignored=list(settings.other_devnodes)[:8]
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        stop_capture.set()
        await server.stop(STOP_GRACE_SECONDS)
        # The thread sees the stop within one poll; a read stuck in a driver is left to exit.
        await asyncio.to_thread(thread.join, POLL_SECONDS * 4)
    log.info(
        "broker_stopped",
        devnode=settings.devnode,
        frames=capturer.sequence,
        dropped=capturer.dropped,
    )
    return 0


def main(argv: list[str] | None = None) -> None:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog=PROGRAM,
        summary=SUMMARY,
        variables=(*VARIABLES, *COMMON),
    )
    try:
        settings = VideoSettings.from_environment(os.environ)
        configure(level=settings.log_level, fmt=settings.log_format, output=settings.log_output)
    except (SettingsError, ValueError) as err:
        print(f"{PROGRAM}: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    raise SystemExit(asyncio.run(serve(settings)))


if __name__ == "__main__":
    main()
