"""The ``v0.DiscoveryHandler`` servicer: a thin gRPC shell over a ``DiscoveryHandler``.

For each ``Discover`` call: parse the details (bad details → ``INVALID_ARGUMENT`` naming the field),
send the full list first and then only lists that changed. When the agent goes away (cancels the
call, restarts, drops the stream) the handler's iterator is closed within the call's own task, so no
task outlives the stream, and the registrar is told so that it registers again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import grpc
import structlog

from akri_common.grpc.discovery_wire import properties_from_proto, response_from_devices
from akri_handler_sdk.changes import distinct_lists
from akri_handler_sdk.errors import InvalidDetailsError
from akri_handler_sdk.protocol import DiscoveryHandler
from akri_proto.discovery.v0 import discovery_pb2 as pb
from akri_proto.discovery.v0 import discovery_pb2_grpc as pb_grpc

log = structlog.get_logger(__name__)


class DiscoveryServicer(pb_grpc.DiscoveryHandlerServicer):
    """Serves one handler's ``Discover`` streams."""

    def __init__(
        self,
        handler: DiscoveryHandler[Any],
        *,
        on_stream_dropped: Callable[[], None] | None = None,
    ) -> None:
        self._handler = handler
        #: Called when the agent drops a stream; the server points it at the registrar.
        self.on_stream_dropped: Callable[[], None] = on_stream_dropped or _ignore
        self.active_streams = 0

    # grpc.aio accepts a coroutine that writes with ``context.write``; the generated stub only
    # describes generator servicers. Writing ourselves keeps the handler's iterator closed in this
    # task when the client goes away, instead of leaving it to the garbage collector.
    async def Discover(  # type: ignore[override]  # noqa: N802
        self, request: pb.DiscoverRequest, context: grpc.aio.ServicerContext
    ) -> None:
        handler = self._handler.name
        try:
            details = self._handler.parse_details(
                request.discovery_details, properties_from_proto(request.discovery_properties)
            )
        except InvalidDetailsError as err:
            log.warning("invalid_discovery_details", handler=handler, error=str(err))
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
            return
        self.active_streams += 1
        log.info("discover_started", handler=handler, peer=context.peer())
        try:
            async with contextlib.aclosing(
                distinct_lists(self._handler.discover(details))
            ) as lists:
                async for devices in lists:
                    await context.write(response_from_devices(devices))
                    log.debug("devices_sent", handler=handler, count=len(devices))
        except asyncio.CancelledError:
            log.info("discover_dropped", handler=handler, peer=context.peer())
            self.on_stream_dropped()
            raise
        finally:
            self.active_streams -= 1
        log.info("discover_finished", handler=handler)


def _ignore() -> None:
    return None
