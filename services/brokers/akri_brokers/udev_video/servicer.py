"""``camera.Camera/GetFrame`` over gRPC: the newest frame the capture thread holds."""

from __future__ import annotations

import grpc

from akri_brokers.udev_video.frames import FrameStore
from akri_proto.camera import camera_pb2 as pb
from akri_proto.camera import camera_pb2_grpc as pb_grpc

#: A request that finds no frame waits this long for one (the device may be reopening).
FRAME_WAIT_SECONDS = 2.0


class CameraServicer(pb_grpc.CameraServicer):
    def __init__(self, store: FrameStore) -> None:
        self._store = store

    async def GetFrame(  # noqa: N802 - the gRPC method name
        self, request: pb.NotifyRequest, context: grpc.aio.ServicerContext
    ) -> pb.NotifyResponse:
        frame = await self._store.wait_latest(FRAME_WAIT_SECONDS)
        if frame is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, self._store.problem())
        assert frame is not None
        return pb.NotifyResponse(frame=frame.data, camera=self._store.devnode)
