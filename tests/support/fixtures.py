"""Shared fixtures: short socket directories, a process group that cleans up, and teardown checks
that a test left no asyncio task and no socket behind.

``no_leftover_tasks`` and ``no_leftover_sockets`` only check: a module applies them with
``pytestmark = pytest.mark.usefixtures(...)``, which sets them up before the test's own fixtures,
so that their checks run once those are torn down.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from akri_handler_sdk.testing import leftover_tasks_settled, socket_directory
from tests.support.processes import ProcessGroup


@pytest.fixture
def sockets_dir() -> Iterator[Path]:
    """A short directory for Unix sockets (their paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="akri-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def directory() -> Iterator[Path]:
    """A fresh short directory (``socket_directory()``) where a test's handler and recording agent
    serve their sockets; removed with its contents at teardown."""
    with socket_directory() as path:
        yield path


@pytest.fixture
def no_leftover_sockets(directory: Path) -> Iterator[None]:
    """Fails the test if a socket is left in ``directory`` once its other fixtures are torn down."""
    yield
    assert not list(directory.glob("*.sock")), "sockets left behind"


@pytest.fixture
async def no_leftover_tasks() -> AsyncIterator[None]:
    """Fails the test if an asyncio task is still pending once its other fixtures are torn down.

    A task that is already finishing gets a bounded moment: grpc.aio ends a stopped server's
    ``rpc_task`` a few loop turns after ``stop()`` returns. A task that would never end is still
    reported."""
    yield
    assert not await leftover_tasks_settled()


@pytest.fixture
async def processes(tmp_path: Path, sockets_dir: Path) -> AsyncIterator[ProcessGroup]:
    """Child processes of one test; all stopped at teardown, which then checks that they
    removed their sockets (a process stopped gracefully must not leave one behind)."""
    group = ProcessGroup(tmp_path)
    yield group
    await group.stop_all()
    leftovers = sorted(p.name for p in sockets_dir.glob("*.sock"))
    assert not leftovers, f"sockets left behind: {leftovers}"
