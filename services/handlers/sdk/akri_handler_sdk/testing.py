"""A test harness for handler authors: real gRPC over real Unix sockets, no mocks.

* ``socket_directory()`` — a short temporary directory (Unix socket paths are limited to 107 bytes).
* ``serve_for_test(handler)`` — serves a handler on a temporary socket (not registered) and gives
  ``discover(details)``, a ``DiscoverStream`` of device lists read over a real ``Discover`` call.
* ``open_discover(endpoint, details)`` — the same stream against any handler endpoint.
* ``RecordingAgent`` — a real ``v0.Registration`` server on a socket path that records every request
  and can be stopped and started again, like an agent restart.

Every wait takes a deadline; everything started is stopped on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import grpc

from akri_common.devices import Device
from akri_common.grpc.discovery_wire import devices_from_response, discover_request
from akri_handler_sdk.protocol import DiscoveryHandler
from akri_handler_sdk.server import Serving, serving
from akri_handler_sdk.settings import HandlerSettings
from akri_proto.discovery.v0 import discovery_pb2 as pb
from akri_proto.discovery.v0 import discovery_pb2_grpc as pb_grpc

DEFAULT_TIMEOUT = 5.0


@contextlib.contextmanager
def socket_directory(prefix: str = "akri-") -> Iterator[Path]:
    """A fresh short directory under the system temp dir, removed with its contents on exit."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def grpc_target(endpoint: str) -> str:
    """A gRPC target for what a handler registers: a socket path or ``http://host:port``."""
    if endpoint.startswith("http://"):
        return endpoint.removeprefix("http://")
    if endpoint.startswith("unix:"):
        return endpoint
    return f"unix://{Path(endpoint).absolute()}"


class DiscoverStream:
    """One open ``Discover`` call; iterate it for device lists (tuples of ``Device``)."""

    def __init__(self, channel: Any, call: Any) -> None:
        self._channel = channel
        self._call = call

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> tuple[Device, ...]:
        response = await self._call.read()
        if response is grpc.aio.EOF:
            raise StopAsyncIteration
        assert isinstance(response, pb.DiscoverResponse)
        return devices_from_response(response)

    async def next_list(self, within: float = DEFAULT_TIMEOUT) -> tuple[Device, ...]:
        """The next list the handler sends; ``TimeoutError`` when none comes within ``within`` seconds."""
        async with asyncio.timeout(within):
            return await self.__anext__()

    async def wait_for(
        self,
        predicate: Callable[[tuple[Device, ...]], bool],
        within: float = DEFAULT_TIMEOUT,
    ) -> tuple[Device, ...]:
        """Reads lists until one satisfies ``predicate``; ``TimeoutError`` past the deadline."""
        async with asyncio.timeout(within):
            async for devices in self:
                if predicate(devices):
                    return devices
        raise AssertionError("the Discover stream ended before the condition held")

    async def aclose(self) -> None:
        """Cancels the call (as an agent dropping the stream does) and closes the channel."""
        self._call.cancel()
        await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def open_discover(
    endpoint: str, details: str, properties: Mapping[str, bytes | None] | None = None
) -> DiscoverStream:
    """Opens ``Discover`` on ``endpoint`` (socket path, ``unix:`` target or ``http://host:port``)."""
    channel = grpc.aio.insecure_channel(grpc_target(endpoint))
    stub = pb_grpc.DiscoveryHandlerStub(channel)
    return DiscoverStream(channel, stub.Discover(discover_request(details, properties)))


@dataclass(frozen=True)
class HandlerUnderTest:
    """A handler served by ``serve_for_test``."""

    serving: Serving

    @property
    def endpoint(self) -> str:
        return self.serving.endpoint.registered

    def discover(
        self, details: str, properties: Mapping[str, bytes | None] | None = None
    ) -> DiscoverStream:
        return open_discover(self.endpoint, details, properties)


@contextlib.asynccontextmanager
async def serve_for_test(
    handler: DiscoveryHandler[Any], *, directory: Path | None = None
) -> AsyncIterator[HandlerUnderTest]:
    """Serves ``handler`` on ``<directory>/<name>.sock`` (a fresh temporary one by default)."""
    with contextlib.ExitStack() as stack:
        where = directory if directory is not None else stack.enter_context(socket_directory())
        async with serving(handler, HandlerSettings(directory=where), register=False) as served:
            yield HandlerUnderTest(served)


class _RecordingRegistration(pb_grpc.RegistrationServicer):
    def __init__(self, agent: RecordingAgent) -> None:
        self._agent = agent

    async def RegisterDiscoveryHandler(  # noqa: N802 - the gRPC method name
        self, request: pb.RegisterDiscoveryHandlerRequest, context: Any
    ) -> pb.Empty:
        await self._agent.record(request)
        return pb.Empty()


class RecordingAgent:
    """A real ``v0.Registration`` server on ``socket_path`` that records what handlers register."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.requests: list[pb.RegisterDiscoveryHandlerRequest] = []
        self._server: Any = None
        self._changed = asyncio.Condition()

    async def record(self, request: pb.RegisterDiscoveryHandlerRequest) -> None:
        async with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Binds the socket (replacing a stale file, as the agent does) and serves."""
        if self._server is not None:
            raise RuntimeError("the recording agent is already running")
        self.socket_path.unlink(missing_ok=True)
        server = grpc.aio.server()
        pb_grpc.add_RegistrationServicer_to_server(_RecordingRegistration(self), server)
        server.add_insecure_port(f"unix:{self.socket_path.absolute()}")
        await server.start()
        self._server = server

    async def stop(self) -> None:
        """Stops serving and removes the socket, as an exiting agent does."""
        if self._server is None:
            return
        server, self._server = self._server, None
        await server.stop(None)
        self.socket_path.unlink(missing_ok=True)

    async def wait_for_registrations(
        self, count: int, within: float = DEFAULT_TIMEOUT
    ) -> list[pb.RegisterDiscoveryHandlerRequest]:
        """Waits until at least ``count`` requests were recorded; ``TimeoutError`` past the deadline."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.requests) >= count)
        return list(self.requests)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def leftover_tasks() -> set[asyncio.Task[Any]]:
    """Tasks still pending besides the caller's own: what a test must not leave behind."""
    current = asyncio.current_task()
    return {task for task in asyncio.all_tasks() if task is not current and not task.done()}


async def leftover_tasks_settled(grace: float = 1.0) -> set[asyncio.Task[Any]]:
    """``leftover_tasks()`` once the ones already finishing had ``grace`` seconds to end: grpc.aio
    ends a cancelled stream's ``rpc_task`` a few loop turns after the client went away. A task
    that would never end is still returned."""
    with contextlib.suppress(TimeoutError):
        await wait_until(lambda: not leftover_tasks(), within=grace, what="pending tasks to end")
    return leftover_tasks()


async def wait_until(
    condition: Callable[[], bool], *, within: float = DEFAULT_TIMEOUT, what: str = "condition"
) -> None:
    """Checks ``condition`` every 10 ms until it holds; ``TimeoutError`` naming ``what`` past the
    deadline. For state that offers no event to wait on (a file, a counter)."""
    try:
        async with asyncio.timeout(within):
            while True:
                if condition():
                    return
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise TimeoutError(f"{what} did not hold within {within} s") from None
