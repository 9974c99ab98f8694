"""The Discover servicer and the file watcher over real gRPC and real inotify."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import grpc
import pytest

from akri_common.devices import Device
from akri_common.filewatch import file_changes
from akri_handler_sdk.errors import InvalidDetailsError
from akri_handler_sdk.testing import serve_for_test

A, B = Device(id="a"), Device(id="b")

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")


class ScriptedHandler:
    """Yields the lists it is fed through a queue; records properties and whether it was closed."""

    name = "scripted"
    shared = True

    def __init__(self) -> None:
        self.feed: asyncio.Queue[Sequence[Device]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.properties: list[Mapping[str, bytes | None]] = []

    def parse_details(self, details: str, properties: Mapping[str, bytes | None]) -> str:
        if details == "bad":
            raise InvalidDetailsError("mode", "expected fast or slow, got 'bad'")
        self.properties.append(dict(properties))
        return details

    async def discover(self, details: str) -> AsyncIterator[Sequence[Device]]:
        try:
            while True:
                yield await self.feed.get()
        finally:
            self.closed.set()


async def test_sends_the_first_list_then_only_changes() -> None:
    handler = ScriptedHandler()
    async with serve_for_test(handler) as served, served.discover("x") as stream:
        for devices in ([A], [A], [A, B], [B, A], [], [], [B]):
            handler.feed.put_nowait(devices)
        received = [await stream.next_list() for _ in range(4)]
        assert received == [(A,), (A, B), (), (B,)]
        with pytest.raises(TimeoutError):
            await stream.next_list(within=0.3)


async def test_passes_properties_and_closes_the_handler_when_the_client_goes() -> None:
    handler = ScriptedHandler()
    async with serve_for_test(handler) as served:
        async with served.discover("x", {"secret": b"s3", "empty": None}) as stream:
            handler.feed.put_nowait([A])
            await stream.next_list()
        await asyncio.wait_for(handler.closed.wait(), 2.0)
        assert served.serving.servicer.active_streams == 0
    assert handler.properties == [{"secret": b"s3", "empty": None}]


async def test_bad_details_are_invalid_argument_naming_the_field() -> None:
    async with serve_for_test(ScriptedHandler()) as served, served.discover("bad") as stream:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stream.next_list()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "mode: expected fast or slow, got 'bad'"


async def test_stopping_the_server_closes_open_streams() -> None:
    handler = ScriptedHandler()
    async with serve_for_test(handler) as served:
        stream = served.discover("x")
        handler.feed.put_nowait([A])
        await stream.next_list()
    await asyncio.wait_for(handler.closed.wait(), 2.0)
    with pytest.raises(grpc.aio.AioRpcError):
        await stream.next_list()
    await stream.aclose()


@contextlib.asynccontextmanager
async def _watching(path: Path) -> AsyncIterator[AsyncIterator[None]]:
    changes = file_changes(path)
    async with contextlib.aclosing(changes):
        await anext(changes)  # the initial wake-up: the watch is in place
        yield changes


async def _next_change(changes: AsyncIterator[None]) -> None:
    await asyncio.wait_for(anext(changes), 2.0)


async def test_file_watch_sees_create_write_move_and_delete(directory: Path) -> None:
    target = directory / "availability.txt"
    async with _watching(target) as changes:
        target.write_text("one")  # create + close-write
        await _next_change(changes)
        target.write_text("OFFLINE")
        await _next_change(changes)
        target.unlink()
        await _next_change(changes)
        (directory / "staged").write_text("x")
        (directory / "staged").rename(target)  # moved in
        await _next_change(changes)
        target.rename(directory / "elsewhere")  # moved out
        await _next_change(changes)


async def test_file_watch_ignores_other_files(directory: Path) -> None:
    async with _watching(directory / "watched") as changes:
        (directory / "other").write_text("x")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(changes), 0.3)


async def test_file_watch_ends_when_the_directory_goes(directory: Path) -> None:
    inner = directory / "inner"
    inner.mkdir()
    async with _watching(inner / "f") as changes:
        os.rmdir(inner)
        remaining = [change async for change in changes]  # ends instead of hanging
        assert len(remaining) <= 1
