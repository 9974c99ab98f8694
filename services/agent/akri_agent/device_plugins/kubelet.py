"""Talking to kubelet's device-plugin registration: registering a plugin, and noticing restarts.

``register`` first checks that the plugin's own socket answers, then calls
``/v1beta1.Registration/Register`` on ``<directory>/kubelet.sock``; every await has a deadline.
``kubelet_restarts`` yields each time ``kubelet.sock`` is created again (a kubelet start removes
every plugin socket in the directory and binds a new ``kubelet.sock``), seen through Linux inotify
driven by the event loop: no polling, no thread.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import struct
from collections.abc import AsyncGenerator
from pathlib import Path

import grpc
import structlog

from akri_agent.device_plugins.errors import RegistrationError
from akri_agent.device_plugins.sockets import unix_target
from akri_proto.deviceplugin.v1beta1 import api_pb2 as pb
from akri_proto.deviceplugin.v1beta1 import api_pb2_grpc as pb_grpc

log = structlog.get_logger(__name__)

KUBELET_SOCKET = "kubelet.sock"
API_VERSION = "v1beta1"
CONNECT_TIMEOUT = 3.0
REGISTER_TIMEOUT = 5.0

IN_CREATE = 0x00000100
IN_MOVED_TO = 0x00000080
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_IGNORED = 0x00008000
_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)


class WatchError(OSError):
    """The device-plugin directory cannot be watched (missing, no permission, no inotify)."""


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
        async with grpc.aio.insecure_channel(target) as channel:
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
        async with grpc.aio.insecure_channel(target) as channel:
            try:
                await pb_grpc.RegistrationStub(channel).Register(request, timeout=timeout)
            except grpc.aio.AioRpcError as err:
                raise RegistrationError(
                    resource=resource, reason=f"{err.code().name}: {err.details()}"
                ) from err
    log.info("plugin_registered", resource=resource, endpoint=plugin_socket.name)


def parse_events(buffer: bytes) -> list[tuple[int, str]]:
    """Splits what ``read`` returned from an inotify descriptor into ``(mask, name)`` pairs."""
    events: list[tuple[int, str]] = []
    offset = 0
    while offset + _HEADER.size <= len(buffer):
        _wd, mask, _cookie, length = _HEADER.unpack_from(buffer, offset)
        offset += _HEADER.size
        raw = buffer[offset : offset + length]
        offset += length
        events.append((mask, os.fsdecode(raw.split(b"\0", 1)[0])))
    return events


def _open_watch(directory: Path) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
    if fd < 0:
        errno = ctypes.get_errno()
        raise WatchError(errno, f"inotify_init1: {os.strerror(errno)}")
    mask = IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF
    if libc.inotify_add_watch(fd, os.fsencode(directory), mask) < 0:
        errno = ctypes.get_errno()
        os.close(fd)
        raise WatchError(errno, f"cannot watch {directory}: {os.strerror(errno)}")
    return fd


async def kubelet_restarts(directory: Path) -> AsyncGenerator[None, None]:
    """Yields whenever ``<directory>/kubelet.sock`` is created; ends if the directory goes away.

    The watch is in place when the generator first runs, so no later creation is missed; close it
    (``aclose``) to release the descriptor promptly.
    """
    loop = asyncio.get_running_loop()
    fd = _open_watch(directory)
    wake = asyncio.Event()
    state = {"created": False, "ended": False}

    def on_readable() -> None:
        try:
            buffer = os.read(fd, 64 * 1024)
        except BlockingIOError:
            return
        for mask, name in parse_events(buffer):
            if mask & (IN_CREATE | IN_MOVED_TO) and name == KUBELET_SOCKET:
                state["created"] = True
            if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                state["ended"] = True
        if state["created"] or state["ended"]:
            wake.set()

    loop.add_reader(fd, on_readable)
    try:
        while True:
            await wake.wait()
            wake.clear()
            if state["created"]:
                state["created"] = False
                yield
            if state["ended"]:
                log.warning("kubelet_watch_ended", directory=str(directory))
                return
    finally:
        loop.remove_reader(fd)
        os.close(fd)
