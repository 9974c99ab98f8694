"""The gRPC edge towards discovery handlers: one ``v0.DiscoveryHandler/Discover`` stream.

It dials an endpoint, sends the details and resolved properties, and yields each complete device
list as plain ``Device`` values. gRPC failures become typed errors: ``INVALID_ARGUMENT`` means bad
details, a failure before the first list means the endpoint is unreachable, a failure after it means
the stream was lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import grpc
from akri_common.ids import DeviceId
from akri_proto.discovery.v0 import discovery_pb2, discovery_pb2_grpc

from akri_agent.discovery.errors import (
    HandlerStreamLostError,
    HandlerUnreachableError,
    InvalidDiscoveryDetailsError,
)
from akri_agent.discovery.model import Device, DeviceSpec, Endpoint, Mount

CHANNEL_OPTIONS = (
    # A UDS has no real authority; upstream's handlers accept any.
    ("grpc.default_authority", "localhost"),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
)


async def discover(
    endpoint: Endpoint, *, details: str, properties: Mapping[str, bytes | None]
) -> AsyncIterator[tuple[Device, ...]]:
    """Yields every device list the endpoint sends until the stream ends (then raises)."""
    request = discovery_pb2.DiscoverRequest(
        discovery_details=details,
        discovery_properties={
            key: discovery_pb2.ByteData() if value is None else discovery_pb2.ByteData(vec=value)
            for key, value in properties.items()
        },
    )
    received = False
    async with grpc.aio.insecure_channel(endpoint.target, options=CHANNEL_OPTIONS) as channel:
        stub = discovery_pb2_grpc.DiscoveryHandlerStub(channel)
        try:
            async for response in stub.Discover(request, wait_for_ready=False):
                received = True
                yield tuple(device_from_proto(d) for d in response.devices)
        except grpc.aio.AioRpcError as err:
            raise _translate(err, endpoint=endpoint.address, received=received) from err
    if received:
        raise HandlerStreamLostError(
            endpoint=endpoint.address, detail="the handler ended the stream"
        )
    raise HandlerUnreachableError(
        endpoint=endpoint.address, detail="the stream ended before any device list"
    )


def _translate(
    err: grpc.aio.AioRpcError, *, endpoint: str, received: bool
) -> InvalidDiscoveryDetailsError | HandlerUnreachableError | HandlerStreamLostError:
    code = err.code()
    detail = f"{code.name}: {err.details() or ''}".rstrip(": ")
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidDiscoveryDetailsError(endpoint=endpoint, message=err.details() or "")
    if received:
        return HandlerStreamLostError(endpoint=endpoint, detail=detail)
    return HandlerUnreachableError(endpoint=endpoint, detail=detail)


def device_from_proto(device: discovery_pb2.Device) -> Device:
    return Device(
        id=DeviceId(device.id),
        properties=dict(device.properties),
        mounts=tuple(
            Mount(container_path=m.container_path, host_path=m.host_path, read_only=m.read_only)
            for m in device.mounts
        ),
        device_specs=tuple(
            DeviceSpec(
                container_path=s.container_path, host_path=s.host_path, permissions=s.permissions
            )
            for s in device.device_specs
        ),
    )
