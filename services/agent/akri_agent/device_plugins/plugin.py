"""One kubelet device plugin: the ``v1beta1.DevicePlugin`` servicer and its server on a Unix socket.

The servicer is thin: ``ListAndWatch`` sends the current device list at once and then one message
per change (no periodic resend); ``Allocate`` asks a backend for each container request's edits and
translates them (and the backend's typed errors) to the wire. The server lives on
``<directory>/<plugin>-<unix-seconds>.sock`` with mode 0660, and ``stop`` ends every stream, stops
serving and removes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Protocol

import grpc
import structlog

from akri_agent.device_plugins.allocation import ContainerAllocation
from akri_agent.device_plugins.errors import DevicePluginError, SlotUnavailableError
from akri_agent.device_plugins.slots import DeviceState
from akri_agent.device_plugins.sockets import unix_target
from akri_common.crds.naming import resource_name
from akri_proto.deviceplugin.v1beta1 import api_pb2 as pb
from akri_proto.deviceplugin.v1beta1 import api_pb2_grpc as pb_grpc

log = structlog.get_logger(__name__)

SOCKET_MODE = 0o660
STOP_GRACE = 1.0
ALLOCATE_TIMEOUT = 30.0


class PluginBackend(Protocol):
    """What a plugin asks of its owner when kubelet allocates."""

    async def allocate(self, device_ids: Sequence[str]) -> ContainerAllocation:
        """Claims the slots behind ``device_ids`` for one container and returns its edits."""
        ...


def options() -> pb.DevicePluginOptions:
    return pb.DevicePluginOptions(
        pre_start_required=False, get_preferred_allocation_available=False
    )


def list_response(devices: Sequence[DeviceState]) -> pb.ListAndWatchResponse:
    return pb.ListAndWatchResponse(devices=[pb.Device(ID=d.id, health=d.health) for d in devices])


def container_response(allocation: ContainerAllocation) -> pb.ContainerAllocateResponse:
    return pb.ContainerAllocateResponse(
        envs=dict(allocation.envs),
        mounts=[
            pb.Mount(container_path=m.container_path, host_path=m.host_path, read_only=m.read_only)
            for m in allocation.mounts
        ],
        devices=[
            pb.DeviceSpec(
                container_path=d.container_path, host_path=d.host_path, permissions=d.permissions
            )
            for d in allocation.devices
        ],
        annotations=dict(allocation.annotations),
    )


class DeviceFeed:
    """The latest device list, and a way to wait until it changes (or the feed closes)."""

    def __init__(self, devices: tuple[DeviceState, ...] = ()) -> None:
        self.devices = devices
        self.version = 0
        self.closed = False
        self._changed = asyncio.Event()

    def publish(self, devices: tuple[DeviceState, ...]) -> bool:
        """Replaces the list; returns whether it differs from the previous one."""
        if devices == self.devices:
            return False
        self.devices = devices
        self.version += 1
        self._wake()
        return True

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_after(self, version: int) -> None:
        while self.version == version and not self.closed:
            await self._changed.wait()


class _Servicer(pb_grpc.DevicePluginServicer):
    def __init__(self, plugin: str, feed: DeviceFeed, backend: PluginBackend) -> None:
        self._plugin = plugin
        self._feed = feed
        self._backend = backend

    async def GetDevicePluginOptions(  # noqa: N802 (gRPC method name)
        self, request: pb.Empty, context: grpc.aio.ServicerContext[pb.Empty, pb.DevicePluginOptions]
    ) -> pb.DevicePluginOptions:
        return options()

    async def ListAndWatch(  # noqa: N802
        self,
        request: pb.Empty,
        context: grpc.aio.ServicerContext[pb.Empty, pb.ListAndWatchResponse],
    ) -> AsyncIterator[pb.ListAndWatchResponse]:
        feed = self._feed
        log.info("list_and_watch_started", plugin=self._plugin, devices=len(feed.devices))
        version = -1
        while not feed.closed:
            if version != feed.version:
                version = feed.version
                yield list_response(feed.devices)
            await feed.wait_after(version)
        log.info("list_and_watch_ended", plugin=self._plugin)

    async def GetPreferredAllocation(  # noqa: N802
        self,
        request: pb.PreferredAllocationRequest,
        context: grpc.aio.ServicerContext[
            pb.PreferredAllocationRequest, pb.PreferredAllocationResponse
        ],
    ) -> pb.PreferredAllocationResponse:
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "Get preferred allocation is not implemented for this plugin",
        )
        raise AssertionError("abort raises")  # pragma: no cover

    async def PreStartContainer(  # noqa: N802
        self,
        request: pb.PreStartContainerRequest,
        context: grpc.aio.ServicerContext[
            pb.PreStartContainerRequest, pb.PreStartContainerResponse
        ],
    ) -> pb.PreStartContainerResponse:
        log.warning("pre_start_container_unexpected", plugin=self._plugin)
        return pb.PreStartContainerResponse()

    async def Allocate(  # noqa: N802
        self,
        request: pb.AllocateRequest,
        context: grpc.aio.ServicerContext[pb.AllocateRequest, pb.AllocateResponse],
    ) -> pb.AllocateResponse:
        responses = []
        for container in request.container_requests:
            ids = tuple(container.devices_ids)
            try:
                allocation = await asyncio.wait_for(self._backend.allocate(ids), ALLOCATE_TIMEOUT)
            except SlotUnavailableError as err:
                log.warning("allocate_refused", plugin=self._plugin, devices=ids, reason=str(err))
                await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(err))
            except DevicePluginError as err:
                log.warning("allocate_failed", plugin=self._plugin, devices=ids, reason=str(err))
                await context.abort(grpc.StatusCode.UNAVAILABLE, str(err))
            except TimeoutError:
                message = f"Unable to claim slots {list(ids)}: no answer in {ALLOCATE_TIMEOUT:g}s"
                log.warning("allocate_failed", plugin=self._plugin, devices=ids, reason=message)
                await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, message)
            log.info("allocated", plugin=self._plugin, devices=ids)
            responses.append(container_response(allocation))
        return pb.AllocateResponse(container_responses=responses)


class PluginServer:
    """Serves one plugin (``akri.sh/<plugin>``) from ``start`` until ``stop``."""

    def __init__(self, *, plugin: str, directory: Path, backend: PluginBackend) -> None:
        self.plugin = plugin
        self.resource_name = resource_name(plugin)
        self.directory = directory
        self.feed = DeviceFeed()
        self._backend = backend
        self._server: grpc.aio.Server | None = None
        self.socket_path: Path | None = None

    @property
    def endpoint(self) -> str:
        """The socket's file name, as kubelet wants it in ``RegisterRequest.endpoint``."""
        return self.socket_path.name if self.socket_path is not None else ""

    def publish(self, devices: tuple[DeviceState, ...]) -> None:
        if self.feed.publish(devices):
            log.debug("devices_changed", plugin=self.plugin, devices=len(devices))

    async def start(self) -> Path:
        """Starts serving on a fresh ``<plugin>-<unix-seconds>.sock``; returns its path."""
        if self._server is not None:
            await self.stop()
        path = self.directory / f"{self.plugin}-{int(time.time())}.sock"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        if self.feed.closed:
            self.feed = DeviceFeed(self.feed.devices)
        server = grpc.aio.server()
        pb_grpc.add_DevicePluginServicer_to_server(
            _Servicer(self.plugin, self.feed, self._backend), server
        )
        with unix_target(path) as target:
            server.add_insecure_port(target)
            await server.start()
        os.chmod(path, SOCKET_MODE)
        self._server = server
        self.socket_path = path
        log.info("plugin_serving", plugin=self.plugin, socket=str(path))
        return path

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Ends the streams, stops the server and removes the socket; safe to call twice."""
        self.feed.close()
        server, self._server = self._server, None
        if server is not None:
            await asyncio.wait_for(server.stop(grace), grace + 5.0)
        if self.socket_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
            log.info("plugin_stopped", plugin=self.plugin, socket=str(self.socket_path))
            self.socket_path = None
