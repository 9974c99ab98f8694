"""Shared fixtures: short socket directories and a process group that cleans up."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.processes import ProcessGroup


@pytest.fixture
def sockets_dir() -> Iterator[Path]:
    """A short directory for Unix sockets (their paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="akri-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def processes(tmp_path: Path, sockets_dir: Path) -> AsyncIterator[ProcessGroup]:
    """Child processes of one test; all stopped at teardown, which then checks that they
    removed their sockets (a process stopped gracefully must not leave one behind)."""
    group = ProcessGroup(tmp_path)
    yield group
    await group.stop_all()
    leftovers = sorted(p.name for p in sockets_dir.glob("*.sock"))
    assert not leftovers, f"sockets left behind: {leftovers}"
