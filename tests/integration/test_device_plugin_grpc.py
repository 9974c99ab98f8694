"""A device-plugin server over a real Unix socket, driven by a real gRPC client; registration with
a Registration server over a real socket; the kubelet-restart watcher with real inotify."""

from __future__ import annotations

import asyncio
import contextlib
import stat
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import grpc
import pytest

from akri_agent.device_plugins.allocation import ContainerAllocation
from akri_agent.device_plugins.errors import RegistrationError, SlotUnavailableError
from akri_agent.device_plugins.kubelet import kubelet_restarts, register
from akri_agent.device_plugins.plugin import PluginServer
from akri_agent.device_plugins.slots import DeviceState
from akri_common.devices import DeviceSpec, Mount
from akri_handler_sdk.testing import leftover_tasks, wait_until
from akri_proto.deviceplugin.v1beta1 import api_pb2 as pb
from akri_proto.deviceplugin.v1beta1 import api_pb2_grpc as pb_grpc

STEP = 5.0


class TableBackend:
    """Answers Allocate from a table: ids listed in ``taken`` are refused."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.calls: list[tuple[str, ...]] = []

    async def allocate(self, device_ids: Sequence[str]) -> ContainerAllocation:
        self.calls.append(tuple(device_ids))
        for device_id in device_ids:
            if device_id in self.taken:
                raise SlotUnavailableError(instance="i-8120fe", slot=device_id, reason="in use")
        return ContainerAllocation(
            envs={"K": "v", "K_8120FE": "v"},
            mounts=(Mount("/c", "/h", read_only=True),),
            devices=(DeviceSpec("/dev/x", "/dev/x", "rw"),),
        )


@pytest.fixture
async def server(sockets_dir: Path) -> AsyncIterator[tuple[PluginServer, TableBackend]]:
    backend = TableBackend()
    plugin = PluginServer(plugin="i-8120fe", directory=sockets_dir, backend=backend)
    plugin.publish((DeviceState("i-8120fe-0", True), DeviceState("i-8120fe-1", True)))
    await plugin.start()
    yield plugin, backend
    await plugin.stop()
    assert not list(sockets_dir.glob("*.sock"))


@contextlib.asynccontextmanager
async def stub(path: Path) -> AsyncIterator[pb_grpc.DevicePluginAsyncStub]:
    async with grpc.aio.insecure_channel(f"unix://{path}") as channel:
        yield pb_grpc.DevicePluginStub(channel)  # type: ignore[misc]


async def test_socket_name_mode_and_options(server: tuple[PluginServer, TableBackend]) -> None:
    plugin, _ = server
    assert plugin.socket_path is not None
    assert plugin.endpoint.startswith("i-8120fe-")
    assert plugin.endpoint.endswith(".sock")
    assert int(plugin.endpoint.removeprefix("i-8120fe-").removesuffix(".sock")) > 1_600_000_000
    mode = plugin.socket_path.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert not mode & stat.S_IWOTH
    async with stub(plugin.socket_path) as client:
        options = await client.GetDevicePluginOptions(pb.Empty(), timeout=STEP)
        assert not options.pre_start_required
        assert not options.get_preferred_allocation_available
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.GetPreferredAllocation(pb.PreferredAllocationRequest(), timeout=STEP)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert await client.PreStartContainer(pb.PreStartContainerRequest(), timeout=STEP) == (
            pb.PreStartContainerResponse()
        )


async def test_list_and_watch_first_message_then_one_per_change(
    server: tuple[PluginServer, TableBackend],
) -> None:
    plugin, _ = server
    assert plugin.socket_path is not None
    async with stub(plugin.socket_path) as client:
        stream = client.ListAndWatch(pb.Empty())
        first = await asyncio.wait_for(stream.read(), STEP)
        assert [(d.ID, d.health) for d in first.devices] == [
            ("i-8120fe-0", "Healthy"),
            ("i-8120fe-1", "Healthy"),
        ]
        plugin.publish((DeviceState("i-8120fe-0", True), DeviceState("i-8120fe-1", False)))
        plugin.publish((DeviceState("i-8120fe-0", True), DeviceState("i-8120fe-1", False)))
        second = await asyncio.wait_for(stream.read(), STEP)
        assert [d.health for d in second.devices] == ["Healthy", "Unhealthy"]
        # no periodic resend and no message for an unchanged list
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(stream.read()), 0.5)
        await plugin.stop()
        # the stream ends when the plugin stops
        with contextlib.suppress(grpc.aio.AioRpcError):
            await asyncio.wait_for(stream.read(), STEP)
        stream.cancel()


async def test_allocate_response_and_refusal(server: tuple[PluginServer, TableBackend]) -> None:
    plugin, backend = server
    assert plugin.socket_path is not None
    async with stub(plugin.socket_path) as client:
        response = await client.Allocate(
            pb.AllocateRequest(
                container_requests=[
                    pb.ContainerAllocateRequest(devices_ids=["i-8120fe-0"]),
                    pb.ContainerAllocateRequest(devices_ids=["i-8120fe-1"]),
                ]
            ),
            timeout=STEP,
        )
        assert len(response.container_responses) == 2
        first = response.container_responses[0]
        assert dict(first.envs) == {"K": "v", "K_8120FE": "v"}
        assert [(m.container_path, m.host_path, m.read_only) for m in first.mounts] == [
            ("/c", "/h", True)
        ]
        assert [(d.container_path, d.host_path, d.permissions) for d in first.devices] == [
            ("/dev/x", "/dev/x", "rw")
        ]
        assert backend.calls == [("i-8120fe-0",), ("i-8120fe-1",)]
        backend.taken.add("i-8120fe-1")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.Allocate(
                pb.AllocateRequest(
                    container_requests=[pb.ContainerAllocateRequest(devices_ids=["i-8120fe-1"])]
                ),
                timeout=STEP,
            )
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "Unable to claim slot i-8120fe-1" in str(err.value.details())


class RecordingRegistration(pb_grpc.RegistrationServicer):
    def __init__(self) -> None:
        self.requests: list[pb.RegisterRequest] = []

    async def Register(  # noqa: N802
        self,
        request: pb.RegisterRequest,
        context: grpc.aio.ServicerContext[pb.RegisterRequest, pb.Empty],
    ) -> pb.Empty:
        self.requests.append(request)
        return pb.Empty()


async def test_register_sends_the_upstream_request(
    server: tuple[PluginServer, TableBackend], sockets_dir: Path
) -> None:
    plugin, _ = server
    assert plugin.socket_path is not None
    kubelet = grpc.aio.server()
    recorder = RecordingRegistration()
    pb_grpc.add_RegistrationServicer_to_server(recorder, kubelet)
    kubelet.add_insecure_port(f"unix://{sockets_dir / 'kubelet.sock'}")
    await kubelet.start()
    try:
        await register(
            directory=sockets_dir, plugin_socket=plugin.socket_path, resource="akri.sh/i-8120fe"
        )
    finally:
        await kubelet.stop(None)
    (request,) = recorder.requests
    assert request.version == "v1beta1"
    assert request.endpoint == plugin.endpoint
    assert request.resource_name == "akri.sh/i-8120fe"
    assert not request.options.pre_start_required
    assert not request.options.get_preferred_allocation_available


async def test_register_without_kubelet_is_a_typed_error(
    server: tuple[PluginServer, TableBackend], sockets_dir: Path
) -> None:
    plugin, _ = server
    assert plugin.socket_path is not None
    with pytest.raises(RegistrationError, match=r"akri\.sh/i-8120fe"):
        await register(
            directory=sockets_dir,
            plugin_socket=plugin.socket_path,
            resource="akri.sh/i-8120fe",
            timeout=1.0,
        )


async def test_kubelet_restart_watcher_sees_socket_recreation(sockets_dir: Path) -> None:
    seen: list[None] = []
    restarts = kubelet_restarts(sockets_dir)

    async def consume() -> None:
        async with contextlib.aclosing(restarts):
            async for event in restarts:
                seen.append(event)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)  # wait-ok: one loop turn lets the generator open its watch
    (sockets_dir / "other.sock").touch()
    kubelet = grpc.aio.server()
    kubelet.add_insecure_port(f"unix://{sockets_dir / 'kubelet.sock'}")
    await kubelet.start()
    await wait_until(lambda: len(seen) == 1, within=STEP, what="first creation seen")
    await kubelet.stop(None)
    (sockets_dir / "kubelet.sock").unlink(missing_ok=True)
    kubelet = grpc.aio.server()
    kubelet.add_insecure_port(f"unix://{sockets_dir / 'kubelet.sock'}")
    await kubelet.start()
    await wait_until(lambda: len(seen) == 2, within=STEP, what="re-creation seen")
    await kubelet.stop(None)
    (sockets_dir / "other.sock").unlink()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert not leftover_tasks()
