"""A real ``camera.Camera`` gRPC server on loopback for tests: moving footage with its name drawn.

Each ``GetFrame`` answers a freshly drawn JPEG (made with Pillow): the camera's name in large
letters, a clock, a frame counter and a bar that sweeps across the picture, so that two frames
a fraction of a second apart differ in their pixels. ``camera`` in the reply is the name, as the
video brokers set it. ``stop()`` makes the camera go away (calls fail), ``start()`` brings it back
on the same port.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import grpc
from PIL import Image, ImageDraw, ImageFont

from akri_proto.camera import camera_pb2 as pb
from akri_proto.camera import camera_pb2_grpc as pb_grpc

WIDTH, HEIGHT = 320, 240
COLOURS = [(200, 60, 60), (60, 160, 60), (60, 90, 200), (190, 150, 40), (150, 60, 170)]


def draw_frame(name: str, count: int, *, colour: tuple[int, int, int]) -> bytes:
    """One JPEG: ``name`` big, the time and ``count`` small, a bar at a position set by ``count``."""
    image = Image.new("RGB", (WIDTH, HEIGHT), colour)
    draw = ImageDraw.Draw(image)
    big = ImageFont.load_default(size=36)
    small = ImageFont.load_default(size=18)
    draw.text((12, 70), name, fill=(255, 255, 255), font=big)
    draw.text(
        (12, 130), time.strftime("%H:%M:%S") + f"  #{count}", fill=(255, 255, 255), font=small
    )
    x = (count * 16) % WIDTH
    draw.rectangle((x, 180, x + 40, 230), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


class _Servicer(pb_grpc.CameraServicer):
    def __init__(self, peer: CameraPeer) -> None:
        self._peer = peer

    async def GetFrame(  # noqa: N802 (the wire name)
        self, request: pb.NotifyRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> pb.NotifyResponse:
        self._peer.calls += 1
        frame = draw_frame(self._peer.name, self._peer.calls, colour=self._peer.colour)
        frame += b"\0" * self._peer.padding  # after the JPEG's end: still shown, only larger
        return pb.NotifyResponse(frame=frame, camera=self._peer.name)


@dataclass
class CameraPeer:
    name: str
    colour: tuple[int, int, int] = COLOURS[0]
    port: int = 0
    calls: int = 0
    padding: int = 0  # bytes added to each frame (a camera sending frames too large)
    _server: grpc.aio.Server | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        server = grpc.aio.server(options=[("grpc.max_send_message_length", 64 * 1024 * 1024)])
        pb_grpc.add_CameraServicer_to_server(_Servicer(self), server)
        self.port = server.add_insecure_port(f"127.0.0.1:{self.port}")
        await server.start()
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(0)
            self._server = None


async def start_cameras(*names: str) -> list[CameraPeer]:
    cameras = [CameraPeer(name, COLOURS[i % len(COLOURS)]) for i, name in enumerate(names)]
    for camera in cameras:
        await camera.start()
    return cameras
