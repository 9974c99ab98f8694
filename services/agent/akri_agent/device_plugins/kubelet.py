"""Talking to kubelet's device-plugin registration: registering a plugin, and noticing restarts.

``register`` first checks that the plugin's own socket answers, then calls
``/v1beta1.Registration/Register`` on ``<directory>/kubelet.sock``; every await has a deadline.
``kubelet_restarts`` yields each time ``kubelet.sock`` is created again (a kubelet start removes
every plugin socket in the directory and binds a new ``kubelet.sock``), seen through Linux inotify
(``akri_common.filewatch``) driven by the event loop: no polling, no thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from pathlib import Path

import grpc
import structlog

from akri_agent.device_plugins.errors import RegistrationError
from akri_agent.device_plugins.sockets import unix_target
from akri_common.filewatch import CREATED, file_changes
from akri_proto.deviceplugin.v1beta1 import api_pb2 as pb
from akri_proto.deviceplugin.v1beta1 import api_pb2_grpc as pb_grpc

log = structlog.get_logger(__name__)

KUBELET_SOCKET = "kubelet.sock"
API_VERSION = "v1beta1"
CONNECT_TIMEOUT = 3.0
REGISTER_TIMEOUT = 5.0
# A fresh channel per call that does not inherit an earlier failure's reconnect back-off (gRPC
# shares subchannels between channels by default), so a restarted kubelet is reached at once.
LOCAL_SUBCHANNELS = [("grpc.use_local_subchannel_pool", 1)]


def register_request(*, endpoint: str, resource: str) -> pb.RegisterRequest:
    return pb.RegisterRequest(
        version=API_VERSION,
        endpoint=endpoint,
        resource_name=resource,
        options=pb.DevicePluginOptions(
            pre_start_required=False, get_preferred_allocation_available=False
        ),
    )


async def check_socket(path: Path, *, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raises ``RegistrationError`` unless a gRPC connection to ``path`` becomes ready in time."""
    with unix_target(path) as target:
        async with grpc.aio.insecure_channel(target, options=LOCAL_SUBCHANNELS) as channel:
            try:
                await asyncio.wait_for(channel.channel_ready(), timeout)
            except TimeoutError as err:
                raise RegistrationError(
                    resource=path.name,
                    reason=f"own socket {path} not answering within {timeout:g}s",
                ) from err


async def register(
    *,
    directory: Path,
    plugin_socket: Path,
    resource: str,
    timeout: float = REGISTER_TIMEOUT,
) -> None:
    """Registers the plugin served on ``plugin_socket`` as ``resource`` with kubelet."""
    await check_socket(plugin_socket)
    kubelet = directory / KUBELET_SOCKET
    request = register_request(endpoint=plugin_socket.name, resource=resource)
    with unix_target(kubelet) as target:
        async with grpc.aio.insecure_channel(target, options=LOCAL_SUBCHANNELS) as channel:
            try:
                await pb_grpc.RegistrationStub(channel).Register(request, timeout=timeout)
            except grpc.aio.AioRpcError as err:
                raise RegistrationError(
                    resource=resource, reason=f"{err.code().name}: {err.details()}"
                ) from err
    log.info("plugin_registered", resource=resource, endpoint=plugin_socket.name)


async def kubelet_restarts(directory: Path) -> AsyncGenerator[None, None]:
    """Yields whenever ``<directory>/kubelet.sock`` is created; ends if the directory goes away.

    The watch is in place when the generator first runs, so no later creation is missed; close it
    (``aclose``) to release the descriptor promptly.
    """
    async with contextlib.aclosing(
        file_changes(directory / KUBELET_SOCKET, kinds=CREATED, initial=False)
    ) as created:
        async for _ in created:
            yield
    log.warning("kubelet_watch_ended", directory=str(directory))
