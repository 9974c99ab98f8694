"""``python -m akri_udev`` as a real process over umockdev: registers, serves, follows uevents.

The handler process inherits the umockdev preload from the test (run under ``umockdev-wrapper``)
and is pointed at the test's testbed with ``UMOCKDEV_DIR``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from akri_handler_sdk.testing import RecordingAgent, open_discover, wait_until
from tests.support.handlers import HandlerProcesses, handler_processes
from tests.support.umockdev import USB1, VIDEO0, VIDEO1, Bed, bed

__all__ = ["bed"]

pytestmark = [pytest.mark.umockdev, pytest.mark.usefixtures("no_leftover_tasks")]


@pytest.fixture
async def handler(bed: Bed, directory: Path) -> AsyncIterator[HandlerProcesses]:
    """Runs ``python -m akri_udev`` on the test's testbed; kills any still running at teardown."""
    env = {"UMOCKDEV_DIR": bed.root}
    async with handler_processes("akri_udev", "udev", directory, env) as handlers:
        yield handlers


async def test_registers_discovers_follows_uevents_and_stops(
    bed: Bed, handler: HandlerProcesses
) -> None:
    async with RecordingAgent(handler.agent_socket) as agent:
        proc = await handler.start()
        request = await handler.expect_registration(agent, shared=False)
        details = "udevRules: ['KERNEL==\"video[0-9]*\"', 'ATTRS{idVendor}==\"abcd\"']"
        async with open_discover(request.endpoint, details) as stream:
            first = await stream.next_list()
            assert {d.id for d in first} == {VIDEO0, VIDEO1}
            syspath = bed.plug_usb(
                "1-2", vendor="abcd", dev="189:5", devname="/dev/bus/usb/001/006"
            )
            added = await stream.next_list(within=1.0)
            assert f"{USB1}/1-2" in {d.id for d in added}
            bed.unplug(syspath)
            assert {d.id for d in await stream.next_list(within=1.0)} == {d.id for d in first}
        async with open_discover(request.endpoint, "udevRules: []\npermissions: wr") as bad:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await bad.next_list()
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "permissions: 'wr'" in (caught.value.details() or "")
        await handler.stop(proc)


async def test_bad_resync_setting_exits_2_naming_the_variable(handler: HandlerProcesses) -> None:
    proc = await handler.start(UDEV_RESYNC_INTERVAL_SECONDS="soon")
    assert await asyncio.wait_for(proc.wait(), 15.0) == 2
    log = handler.log()
    assert "UDEV_RESYNC_INTERVAL_SECONDS" in log
    assert "Traceback" not in log


async def test_periodic_resync_catches_a_device_added_without_a_uevent(
    bed: Bed, handler: HandlerProcesses
) -> None:
    await handler.start(UDEV_RESYNC_INTERVAL_SECONDS="1")
    await wait_until(handler.socket.exists, within=15.0, what="the handler serving")
    async with open_discover(str(handler.socket), "udevRules: ['KERNEL==\"ttyUSB*\"']") as stream:
        assert await stream.next_list() == ()
        # add_from_string emits no uevent: only the re-enumeration can find it.
        assert bed.testbed.add_from_string(
            "P: /devices/platform/usbserial/tty/ttyUSB0\nN: ttyUSB0\n"
            "E: DEVNAME=/dev/ttyUSB0\nE: SUBSYSTEM=tty\n"
        )
        (device,) = await stream.next_list(within=3.0)
    assert device.properties["UDEV_DEVNODE"] == "/dev/ttyUSB0"
