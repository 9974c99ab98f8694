"""Hostile udev rules: a backtracking regular expression and 10,000 rules in one Configuration.

Upstream matches post-scan values with Rust's linear-time ``regex``; Python's ``re`` would spend
hours on ``DEVPATH!=".*.*.*.*.*.*.*.*Q"`` against one device path, on the handler's event loop,
starving every other stream and ignoring SIGTERM. Here the hostile Configuration is answered, the
good one on the same handler is answered while the hostile one is still scanning, and SIGTERM
stops the handler process in the middle of a 10,000-rule scan. Run under ``umockdev-wrapper``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from akri_handler_sdk.testing import (
    HandlerUnderTest,
    RecordingAgent,
    leftover_tasks,
    open_discover,
    serve_for_test,
)
from akri_udev.handler import UdevHandler
from tests.support.handlers import HandlerProcesses, handler_processes
from tests.support.umockdev import VIDEO0, VIDEO1, Bed, bed

__all__ = ["bed"]

pytestmark = pytest.mark.umockdev

BACKTRACKING = 'SUBSYSTEM=="video4linux", DEVPATH!=".*.*.*.*.*.*.*.*Q"'
MANY = 10_000


def hostile_details(count: int) -> str:
    return "udevRules: [" + ", ".join([f"'{BACKTRACKING}'"] * count) + "]\n"


GOOD = "udevRules: ['KERNEL==\"video0\"']\n"


@pytest.fixture
async def served(bed: Bed) -> AsyncIterator[HandlerUnderTest]:
    async with serve_for_test(UdevHandler()) as handler:
        yield handler
    assert not leftover_tasks()


@pytest.mark.timeout(60)
async def test_a_backtracking_rule_is_answered(served: HandlerUnderTest) -> None:
    async with served.discover(hostile_details(1)) as stream:
        devices = await stream.next_list(within=10.0)
    assert {d.id for d in devices} == {VIDEO0, VIDEO1}


@pytest.mark.timeout(120)
async def test_ten_thousand_rules_do_not_starve_another_stream(served: HandlerUnderTest) -> None:
    async with served.discover(hostile_details(MANY)) as hostile:
        first = asyncio.ensure_future(hostile.next_list(within=90.0))
        try:
            async with served.discover(GOOD) as good:
                (device,) = await good.next_list(within=10.0)
            assert device.id == VIDEO0
            assert not first.done(), "the hostile scan ended first: the test proves nothing"
            assert {d.id for d in await first} == {VIDEO0, VIDEO1}
        finally:
            first.cancel()
            await asyncio.gather(first, return_exceptions=True)


@pytest.fixture
async def process(bed: Bed, directory: Path) -> AsyncIterator[HandlerProcesses]:
    async with handler_processes("akri_udev", "udev", directory, {"UMOCKDEV_DIR": bed.root}) as h:
        yield h


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("no_leftover_tasks")
async def test_sigterm_stops_the_handler_in_the_middle_of_a_long_scan(
    process: HandlerProcesses,
) -> None:
    async with RecordingAgent(process.agent_socket) as agent:
        proc = await process.start()
        request = await process.expect_registration(agent, shared=False)
        async with open_discover(request.endpoint, hostile_details(MANY)) as stream:
            pending = asyncio.ensure_future(stream.next_list(within=90.0))
            try:
                async with open_discover(request.endpoint, GOOD) as good:
                    (device,) = await good.next_list(within=10.0)
                assert device.id == VIDEO0
                assert not pending.done()
                await process.stop(proc, within=10.0)
            finally:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
