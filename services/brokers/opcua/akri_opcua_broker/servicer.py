"""``OpcuaNode.GetValue`` over gRPC: the monitor's latest value, as upstream's sample answers it."""

from __future__ import annotations

import grpc

from akri_opcua_broker.monitor import NodeMonitor
from akri_opcua_broker.values import Int32Error, as_int32
from akri_proto.opcua_node import opcua_node_pb2 as pb
from akri_proto.opcua_node import opcua_node_pb2_grpc as pb_grpc


class OpcuaNodeServicer(pb_grpc.OpcuaNodeServicer):
    def __init__(self, monitor: NodeMonitor) -> None:
        self._monitor = monitor

    async def GetValue(  # noqa: N802 - the gRPC method name
        self, request: pb.ValueRequest, context: grpc.aio.ServicerContext
    ) -> pb.ValueResponse:
        url = self._monitor.settings.server_url
        reading = self._monitor.latest
        if reading is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"no value from {url} yet")
        assert reading is not None
        try:
            value = as_int32(reading.value)
        except Int32Error as err:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(err))
        return pb.ValueResponse(value=value, opcua_server=url)
