"""``python -m akri_udev`` as a real process over umockdev: registers, serves, follows uevents.

The handler process inherits the umockdev preload from the test (run under ``umockdev-wrapper``)
and is pointed at the test's testbed with ``UMOCKDEV_DIR``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import gi
import grpc
import pytest

from akri_handler_sdk.testing import (
    RecordingAgent,
    leftover_tasks,
    open_discover,
    socket_directory,
    wait_until,
)
from akri_proto.discovery.v0 import discovery_pb2 as pb

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

pytestmark = pytest.mark.umockdev

TREE = Path(__file__).parents[1] / "data" / "udev" / "camera.umockdev"
USB1 = "/devices/pci0000:00/0000:00:14.0/usb1"
VIDEO0 = f"{USB1}/1-1/1-1:1.0/video4linux/video0"
StartHandler = Callable[..., Awaitable[asyncio.subprocess.Process]]


class Bed:
    """Holds the one ``UMockdev.Testbed`` of a test, so that teardown can drop it for sure."""

    def __init__(self) -> None:
        self.testbed: Any = UMockdev.Testbed.new()
        assert self.testbed.add_from_file(str(TREE))
        self.root: str = self.testbed.get_root_dir()

    def close(self) -> None:
        self.testbed = None
        gc.collect()


@pytest.fixture
def bed() -> Iterator[Bed]:
    if "umockdev" not in os.environ.get("LD_PRELOAD", ""):
        pytest.skip(
            "needs the umockdev preload: run pytest under umockdev-wrapper (make test does)"
        )
    testbed = Bed()
    yield testbed
    testbed.close()


@pytest.fixture
def directory() -> Iterator[Path]:
    with socket_directory() as path:
        yield path


@pytest.fixture
async def start_handler(bed: Bed, directory: Path) -> AsyncIterator[StartHandler]:
    """Starts ``python -m akri_udev`` on the test's testbed; kills any still running at teardown."""
    started: list[asyncio.subprocess.Process] = []

    async def start(**extra: str) -> asyncio.subprocess.Process:
        env = {
            **os.environ,
            "UMOCKDEV_DIR": bed.root,
            "DISCOVERY_HANDLERS_DIRECTORY": str(directory),
            "LOG_FORMAT": "json",
            **extra,
        }
        env.pop("POD_IP", None)
        with (directory / "handler.log").open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "akri_udev", env=env, stdout=log, stderr=log
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert not leftover_tasks()


async def test_registers_discovers_follows_uevents_and_stops(
    bed: Bed, directory: Path, start_handler: StartHandler
) -> None:
    socket_path = directory / "udev.sock"
    async with RecordingAgent(directory / "agent-registration.sock") as agent:
        proc = await start_handler()
        (request,) = await agent.wait_for_registrations(1, within=15.0)
        assert request == pb.RegisterDiscoveryHandlerRequest(
            name="udev",
            endpoint=str(socket_path),
            endpoint_type=pb.RegisterDiscoveryHandlerRequest.UDS,
            shared=False,
        )
        details = "udevRules: ['KERNEL==\"video[0-9]*\"', 'ATTRS{idVendor}==\"abcd\"']"
        async with open_discover(request.endpoint, details) as stream:
            first = await stream.next_list()
            assert {d.id for d in first} == {VIDEO0, VIDEO0.replace("video0", "video1")}
            syspath = bed.testbed.add_device(
                "usb",
                "1-2",
                f"/sys{USB1}",
                ["idVendor", "abcd", "dev", "189:5"],
                ["DEVNAME", "/dev/bus/usb/001/006"],
            )
            added = await stream.next_list(within=1.0)
            assert f"{USB1}/1-2" in {d.id for d in added}
            bed.testbed.uevent(syspath, "remove")
            bed.testbed.remove_device(syspath)
            assert {d.id for d in await stream.next_list(within=1.0)} == {d.id for d in first}
        async with open_discover(request.endpoint, "udevRules: []\npermissions: wr") as bad:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await bad.next_list()
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "permissions: 'wr'" in (caught.value.details() or "")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10.0) == 0, (
            directory / "handler.log"
        ).read_text()
    assert not socket_path.exists()


async def test_bad_resync_setting_exits_2_naming_the_variable(
    directory: Path, start_handler: StartHandler
) -> None:
    proc = await start_handler(UDEV_RESYNC_INTERVAL_SECONDS="soon")
    assert await asyncio.wait_for(proc.wait(), 15.0) == 2
    log = (directory / "handler.log").read_text()
    assert "UDEV_RESYNC_INTERVAL_SECONDS" in log
    assert "Traceback" not in log


async def test_periodic_resync_catches_a_device_added_without_a_uevent(
    bed: Bed, directory: Path, start_handler: StartHandler
) -> None:
    await start_handler(UDEV_RESYNC_INTERVAL_SECONDS="1")
    socket_path = directory / "udev.sock"
    await wait_until(socket_path.exists, within=15.0, what="the handler serving")
    async with open_discover(str(socket_path), "udevRules: ['KERNEL==\"ttyUSB*\"']") as stream:
        assert await stream.next_list() == ()
        # add_from_string emits no uevent: only the re-enumeration can find it.
        assert bed.testbed.add_from_string(
            "P: /devices/platform/usbserial/tty/ttyUSB0\nN: ttyUSB0\n"
            "E: DEVNAME=/dev/ttyUSB0\nE: SUBSYSTEM=tty\n"
        )
        (device,) = await stream.next_list(within=3.0)
    assert device.properties["UDEV_DEVNODE"] == "/dev/ttyUSB0"
