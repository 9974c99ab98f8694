"""debugEcho over real gRPC on a Unix socket, driven by its availability file."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from akri_common.devices import Device
from akri_debug_echo.handler import DebugEchoHandler
from akri_handler_sdk.testing import serve_for_test

DETAILS = "descriptions:\n- foo0\n- foo1\n"
FOO = (
    Device(id="foo0", properties={"DEBUG_ECHO_DESCRIPTION": "foo0"}),
    Device(id="foo1", properties={"DEBUG_ECHO_DESCRIPTION": "foo1"}),
)

pytestmark = pytest.mark.usefixtures("no_leftover_tasks", "no_leftover_sockets")


def _handler(directory: Path) -> DebugEchoHandler:
    return DebugEchoHandler(shared=True, availability_file=directory / "availability.txt")


async def test_reports_one_device_per_description(directory: Path) -> None:
    async with (
        serve_for_test(_handler(directory), directory=directory) as served,
        served.discover(DETAILS) as stream,
    ):
        assert await stream.next_list() == FOO


async def test_offline_empties_the_list_and_removing_it_restores_it(directory: Path) -> None:
    availability = directory / "availability.txt"
    async with (
        serve_for_test(_handler(directory), directory=directory) as served,
        served.discover(DETAILS) as stream,
    ):
        assert await stream.next_list() == FOO
        availability.write_text("OFFLINE\n")
        assert await stream.next_list(within=1.0) == ()
        availability.write_text("ONLINE\n")
        assert await stream.next_list(within=1.0) == FOO
        availability.write_text("OFFLINE")
        assert await stream.next_list(within=1.0) == ()
        availability.unlink()
        assert await stream.next_list(within=1.0) == FOO


async def test_starts_offline_and_follows_an_atomic_rename(directory: Path) -> None:
    (directory / "availability.txt").write_text("OFFLINE")
    async with (
        serve_for_test(_handler(directory), directory=directory) as served,
        served.discover('{"descriptions": ["cam"]}') as stream,
    ):
        assert await stream.next_list() == ()
        (directory / "staged.txt").write_text("online")
        (directory / "staged.txt").rename(directory / "availability.txt")
        (device,) = await stream.next_list(within=1.0)
        assert device.id == "cam"


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ("descriptions: foo0", "descriptions: expected a list of strings, got 'foo0'"),
        ("{}", "descriptions: is required (a list of strings)"),
        ("descriptions: [a", "discoveryDetails: not valid YAML or JSON"),
    ],
)
async def test_bad_details_are_invalid_argument(
    directory: Path, details: str, message: str
) -> None:
    async with (
        serve_for_test(_handler(directory), directory=directory) as served,
        served.discover(details) as stream,
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stream.next_list()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith(message)
