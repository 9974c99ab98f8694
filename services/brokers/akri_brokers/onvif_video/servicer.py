"""``camera.Camera/GetFrame``: the newest frame, as upstream's video brokers answer it."""

from __future__ import annotations

import grpc

from akri_brokers.onvif_video.reader import FrameReader
from akri_proto.camera import camera_pb2 as pb
from akri_proto.camera import camera_pb2_grpc as pb_grpc


class CameraServicer(pb_grpc.CameraServicer):
    def __init__(self, reader: FrameReader) -> None:
        self._reader = reader

    async def GetFrame(  # noqa: N802 - the gRPC method name
        self, request: pb.NotifyRequest, context: grpc.aio.ServicerContext
    ) -> pb.NotifyResponse:
        camera = self._reader.source.identifier
        frame = self._reader.fresh()
        if frame is None:
            problem = self._reader.problem
            message = (
                f"no frame from {camera}: {problem}"
                if problem
                else f"no frame from {camera} yet (connecting)"
            )
            await context.abort(grpc.StatusCode.UNAVAILABLE, message)
        assert frame is not None
        return pb.NotifyResponse(frame=frame.jpeg, camera=camera)
