"""The gRPC edge towards discovery handlers: one ``v0.DiscoveryHandler/Discover`` stream.

It dials an endpoint, waits (bounded) for the connection, sends the details and resolved
properties, and yields each complete device list as plain ``Device`` values. gRPC failures become
typed errors: a connection that cannot be established means the endpoint is unreachable (the only
case in which the agent forgets an endpoint); ``INVALID_ARGUMENT`` means bad details; any other
failure before the first list means the handler failed this call (this Configuration only); a
failure after it means the stream was lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import grpc

from akri_agent.discovery.errors import (
    HandlerFailedError,
    HandlerStreamLostError,
    HandlerUnreachableError,
    InvalidDiscoveryDetailsError,
)
from akri_agent.discovery.model import Endpoint
from akri_common.devices import Device
from akri_common.grpc.discovery_wire import devices_from_response, discover_request
from akri_proto.discovery.v0 import discovery_pb2_grpc

CHANNEL_OPTIONS = (
    # A UDS has no real authority; upstream's handlers accept any.
    ("grpc.default_authority", "localhost"),
    # A new stream to a restarted handler must not inherit the reconnect back-off of the failed
    # connections before it (gRPC shares subchannels between channels by default).
    ("grpc.use_local_subchannel_pool", 1),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
)
# Connecting to a handler (a local socket, or a handler pod on the node's network) is quick or
# fails; past this the endpoint counts as unreachable.
CONNECT_TIMEOUT = 5.0


async def discover(
    endpoint: Endpoint, *, details: str, properties: Mapping[str, bytes | None]
) -> AsyncIterator[tuple[Device, ...]]:
    """Yields every device list the endpoint sends until the stream ends (then raises)."""
    request = discover_request(details, properties)
    received = False
    async with grpc.aio.insecure_channel(endpoint.target, options=CHANNEL_OPTIONS) as channel:
        await _connect(channel, endpoint=endpoint.address)
        stub = discovery_pb2_grpc.DiscoveryHandlerStub(channel)
        try:
            async for response in stub.Discover(request, wait_for_ready=False):
                received = True
                yield devices_from_response(response)
        except grpc.aio.AioRpcError as err:
            raise _translate(err, endpoint=endpoint.address, received=received) from err
    if received:
        raise HandlerStreamLostError(
            endpoint=endpoint.address, detail="the handler ended the stream"
        )
    raise HandlerFailedError(
        endpoint=endpoint.address, detail="the stream ended before any device list"
    )


async def _connect(channel: grpc.aio.Channel, *, endpoint: str) -> None:
    """Returns once the channel is connected; ``HandlerUnreachableError`` if it cannot be."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONNECT_TIMEOUT
    state = channel.get_state(try_to_connect=True)
    while state is not grpc.ChannelConnectivity.READY:
        if state in (grpc.ChannelConnectivity.TRANSIENT_FAILURE, grpc.ChannelConnectivity.SHUTDOWN):
            raise HandlerUnreachableError(endpoint=endpoint, detail="the connection failed")
        remaining = deadline - loop.time()
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                await channel.wait_for_state_change(state)
        except TimeoutError:
            raise HandlerUnreachableError(
                endpoint=endpoint, detail=f"no connection within {CONNECT_TIMEOUT:g}s"
            ) from None
        state = channel.get_state(try_to_connect=True)


def _translate(
    err: grpc.aio.AioRpcError, *, endpoint: str, received: bool
) -> InvalidDiscoveryDetailsError | HandlerFailedError | HandlerStreamLostError:
    code = err.code()
    detail = f"{code.name}: {err.details() or ''}".rstrip(": ")
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidDiscoveryDetailsError(endpoint=endpoint, message=err.details() or "")
    if received or code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
        # The connection was up: a broken or ended stream is reopened (and reaching the handler
        # again tells whether it is still there).
        return HandlerStreamLostError(endpoint=endpoint, detail=detail)
    return HandlerFailedError(endpoint=endpoint, detail=detail)
