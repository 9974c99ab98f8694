"""The ONVIF video broker and the simulated camera as real processes, and a real ``camera.Camera``
client for the broker."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import grpc

from akri_proto.camera import camera_pb2 as pb
from akri_proto.camera import camera_pb2_grpc as pb_grpc
from tests.support.agents import free_port
from tests.support.opcua_broker import _listening
from tests.support.processes import Child, ProcessGroup, wait_for

CAMERA_UUID = "5be0b5a6-3c11-4a5e-9d0e-7a7a00c0ffee"
MAX_FRAME_MESSAGE = 8 * 1024 * 1024


class FrameUnavailableError(Exception):
    """``GetFrame`` answered with an error status."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


async def get_frame(port: int, *, timeout: float = 3.0) -> tuple[bytes, str]:
    """``camera.Camera/GetFrame`` on ``127.0.0.1:port``: (jpeg, camera); ``FrameUnavailableError``
    with the status otherwise."""
    options = [("grpc.max_receive_message_length", MAX_FRAME_MESSAGE)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        try:
            reply = await pb_grpc.CameraStub(channel).GetFrame(pb.NotifyRequest(), timeout=timeout)
        except grpc.aio.AioRpcError as err:
            raise FrameUnavailableError(err.code(), err.details() or "") from None
    return reply.frame, reply.camera


async def start_camera(
    processes: ProcessGroup, port: int, *args: str, name: str = "camera"
) -> Child:
    """The simulated ONVIF camera on ``127.0.0.1:port`` without WS-Discovery, once it listens."""
    child = await processes.start(
        "tests.integration.onvif_support.camera",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--uuid",
        CAMERA_UUID,
        "--mac",
        "02:00:00:00:0a:01",
        "--no-discovery",
        *args,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        name=name,
    )
    ready = await child.read_json(timeout=20)
    assert ready.get("ready") is True, ready
    return child


def camera_properties(port: int) -> dict[str, str]:
    """What the ONVIF handler's ``describeMedia`` reports for the simulated camera (the
    handler's own tests check that it does), as the device plugin hands it to a broker."""
    base = f"http://127.0.0.1:{port}"
    return {
        "ONVIF_DEVICE_UUID": CAMERA_UUID,
        "ONVIF_MEDIA_SERVICE": "media2",
        "ONVIF_PROFILE_COUNT": "2",
        "ONVIF_PROFILE_0_TOKEN": "main",
        "ONVIF_PROFILE_0_RESOLUTION": "1920x1080",
        "ONVIF_PROFILE_0_STREAM_URI": "rtsp://127.0.0.1:554/stream/main",
        "ONVIF_PROFILE_0_SNAPSHOT_URI": f"{base}/snapshot/main.jpg",
        "ONVIF_PROFILE_1_TOKEN": "sub",
        "ONVIF_PROFILE_1_RESOLUTION": "640x360",
        "ONVIF_PROFILE_1_STREAM_URI": f"{base}/stream.mjpeg",
        "ONVIF_PROFILE_1_SNAPSHOT_URI": f"{base}/snapshot/sub.jpg",
    }


async def start_video_broker(
    processes: ProcessGroup,
    env: Mapping[str, str],
    *,
    name: str = "video-broker",
    python: str = sys.executable,
) -> tuple[Child, int]:
    """``python -m akri_brokers.onvif_video`` with ``env`` on a free loopback port, once it
    listens; returns it and the port."""
    port = free_port()
    child = await processes.start(
        "akri_brokers.onvif_video",
        env={
            **env,
            "BROKER_GRPC_ADDRESS": "127.0.0.1",
            "BROKER_GRPC_PORT": str(port),
            "LOG_FORMAT": "json",
            "ONVIF_VIDEO_BACKOFF_CAP": "1",
        },
        name=name,
        python=python,
    )

    async def serving() -> bool:
        assert child.proc.returncode is None, f"{name} exited:\n{child.log()}"
        return await _listening(port)

    await wait_for(serving, timeout=20, what=f"{name} serving", interval=0.1)
    return child, port
