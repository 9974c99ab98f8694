"""The agent's registration socket against careless umasks, floods and foreign registrations.

The real ``RegistrationServer`` on a real Unix socket, a real gRPC client, and raw sockets that
connect and never speak.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from akri_agent.discovery.model import Endpoint
from akri_agent.registration.server import MAX_CONNECTIONS, RegistrationServer
from akri_proto.discovery.v0 import discovery_pb2 as pb
from akri_proto.discovery.v0 import discovery_pb2_grpc as pb_grpc
from tests.support.processes import wait_for

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


async def register(path: Path, name: str, endpoint: str, *, within: float = 20.0) -> None:
    async with grpc.aio.insecure_channel(f"unix://{path}") as channel:
        await pb_grpc.RegistrationStub(channel).RegisterDiscoveryHandler(
            pb.RegisterDiscoveryHandlerRequest(name=name, endpoint=endpoint),
            timeout=within,
            wait_for_ready=True,
        )


@pytest.mark.usefixtures("open_umask")
async def test_directory_and_socket_get_safe_modes_whatever_the_umask(sockets_dir: Path) -> None:
    directory = sockets_dir / "new" / "handlers"
    async with RegistrationServer(directory, on_register=lambda _e: None) as server:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o750
        assert stat.S_IMODE(directory.parent.stat().st_mode) == 0o750
        assert stat.S_IMODE(server.path.stat().st_mode) == 0o660
        assert sorted(p.name for p in directory.iterdir()) == ["agent-registration.sock"]
    assert list(directory.iterdir()) == []


async def test_sockets_outside_the_directory_and_bad_names_are_refused(sockets_dir: Path) -> None:
    registered: list[Endpoint] = []
    async with RegistrationServer(sockets_dir, on_register=registered.append) as server:
        for name, endpoint, reason in [
            ("udev", "/run/containerd/containerd.sock", "must be inside"),
            ("udev", f"{sockets_dir}/../../run/x.sock", "must be inside"),
            ("x" * 10_000, f"{sockets_dir}/x.sock", "name: must be 1 to 63"),
            ("a\nb", f"{sockets_dir}/x.sock", "name: must be 1 to 63"),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await register(server.path, name, endpoint)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert reason in (caught.value.details() or "")
        await register(server.path, "udev", f"{sockets_dir}/udev.sock")
    assert [e.handler for e in registered] == ["udev"]


@pytest.mark.timeout(120)
async def test_a_flood_of_idle_connections_does_not_keep_handlers_out(sockets_dir: Path) -> None:
    registered: list[Endpoint] = []
    idle: list[socket.socket] = []
    async with RegistrationServer(sockets_dir, on_register=registered.append) as server:
        try:
            for _ in range(MAX_CONNECTIONS + 100):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    sock.connect(str(server.path))
                idle.append(sock)
            await register(server.path, "udev", f"{sockets_dir}/udev.sock", within=30.0)
            assert [e.handler for e in registered] == ["udev"]

            def all_closed() -> bool:
                for sock in idle:
                    try:
                        if sock.recv(1024) != b"":
                            continue  # the server spoke (a settings frame): not closed yet
                    except BlockingIOError:
                        return False
                    except ConnectionError:
                        pass
                return True

            await wait_for(all_closed, timeout=60, what="the idle connections to be closed")
        finally:
            for sock in idle:
                sock.close()


async def test_the_soft_open_files_limit_is_raised(sockets_dir: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
        async with RegistrationServer(sockets_dir, on_register=lambda _e: None):
            assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_a_stale_socket_is_replaced(sockets_dir: Path) -> None:
    stale = sockets_dir / "agent-registration.sock"
    stale.write_text("stale")
    async with RegistrationServer(sockets_dir, on_register=lambda _e: None) as server:
        assert stat.S_ISSOCK(server.path.stat().st_mode)
