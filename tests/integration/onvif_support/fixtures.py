"""pytest fixtures for ONVIF tests: a lab per test, a socket directory, no leftover tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from akri_handler_sdk.testing import leftover_tasks, socket_directory
from tests.integration.onvif_support.lab import OnvifLab


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[OnvifLab]:
    """Namespaces and processes of one test; all removed at teardown, which checks it."""
    async with OnvifLab(logs=tmp_path) as created:
        yield created
    assert not created.namespaces_exist(), "network namespaces left behind"
    assert all(p.proc.returncode is not None for p in created.processes), "processes left behind"
    assert not leftover_tasks()


@pytest.fixture
def handler_dir() -> Iterator[Path]:
    """A short directory for the handler's Unix socket, removed with its contents afterwards."""
    with socket_directory("akri-onvif-") as path:
        yield path
