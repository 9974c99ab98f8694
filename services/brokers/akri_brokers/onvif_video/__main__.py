"""``akri-onvif-video-broker`` / ``python -m akri_brokers.onvif_video``: serve a camera's frames.

Chooses the camera's profile and URL from the environment (a missing or unusable setting prints
one line naming it and exits 2), reads frames in the background and serves ``camera.Camera`` on
``BROKER_GRPC_ADDRESS:BROKER_GRPC_PORT``; SIGTERM or SIGINT stops both and exits 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import grpc
import structlog

from akri_brokers.onvif_video import PROGRAM
from akri_brokers.onvif_video.reader import FrameReader
from akri_brokers.onvif_video.servicer import CameraServicer
from akri_brokers.onvif_video.settings import VARIABLES, VideoSettings
from akri_brokers.onvif_video.source import NoSourceError, Source, choose
from akri_common.logging import configure
from akri_common.settings import SettingsError
from akri_common.usage import parse_usage
from akri_proto.camera import camera_pb2_grpc as pb_grpc

log = structlog.get_logger(__name__)

EXIT_BAD_SETTINGS = 2
EXIT_FAILED = 1
STOP_GRACE_SECONDS = 1.0
MAX_MESSAGE = 8 * 1024 * 1024  # a GetFrame answer carries one JPEG of up to 4 MiB by default


async def serve(settings: VideoSettings, source: Source) -> int:
    reader = FrameReader(settings, source)
    limit = max(MAX_MESSAGE, settings.max_frame_bytes + 64 * 1024)
    server = grpc.aio.server(
        options=[("grpc.max_send_message_length", limit), ("grpc.max_receive_message_length", 4096)]
    )
    pb_grpc.add_CameraServicer_to_server(CameraServicer(reader), server)
    address = f"{settings.address}:{settings.port}"
    try:
        server.add_insecure_port(address)
    except RuntimeError as err:
        log.error("bind_failed", address=address, error=str(err))  # noqa: TRY400 - no traceback
        return EXIT_FAILED
    await server.start()
    log.info(
        "broker_serving",
        address=address,
        camera=source.identifier,
        profile=source.profile.token or source.profile.index,
        stream=source.stream,
        snapshot=source.snapshot,
        credential=source.username is not None,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reading = asyncio.create_task(reader.run(), name="camera-reader")
    reading.add_done_callback(lambda _: stop.set())  # the reader only ends by failing
    try:
        await stop.wait()
    finally:
        reading.cancel()
        await asyncio.wait([reading])
        await server.stop(STOP_GRACE_SECONDS)
    if not reading.cancelled() and reading.exception() is not None:
        error = reading.exception()
        log.error("reader_failed", error=f"{type(error).__name__}: {error}"[:200])
        return EXIT_FAILED
    log.info("broker_stopped", frames=reader.frames)
    return 0


def main(argv: list[str] | None = None) -> None:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog=PROGRAM,
        summary=(
            "Serves the newest JPEG frame of an ONVIF camera (its MJPEG stream, or its snapshots) "
            "over upstream Akri's camera.Camera gRPC service."
        ),
        variables=VARIABLES,
    )
    try:
        settings = VideoSettings.from_environment(os.environ)
        configure(level=settings.log_level, fmt=settings.log_format, output=settings.log_output)
        source = choose(
            os.environ, settings.profile, username=settings.username, password=settings.password
        )
    except (SettingsError, NoSourceError) as err:
        print(f"{PROGRAM}: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    raise SystemExit(asyncio.run(serve(settings, source)))


if __name__ == "__main__":
    main()
