"""A container testbed leaves this machine as it found it: after ``down``, and after its launcher was
killed with SIGKILL in the middle of ``up`` (a later ``down`` or ``up`` cleans up).

Each test compares a snapshot of the machine (``tests.support.machine``: processes, mounts, network
namespaces, links, iptables rules, cgroups, kernel settings) taken before ``up`` with one taken
after ``down``. The testbeds here are started by the real command line, ``python -m akri_testbed``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.machine import snapshot

REPO = Path(__file__).resolve().parents[2]
UP_TIMEOUT_S = 180.0

# Container testbeds start in seconds, but the first test of a module also pays for pushing the
# images, the first pulls and, here, `helm install --wait`.
pytestmark = [pytest.mark.containers, pytest.mark.timeout(600)]


def _testbed(*args: str, directory: Path) -> list[str]:
    return [sys.executable, "-m", "akri_testbed", "--dir", str(directory), *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{REPO / 'testbed'}:{REPO}"}


@pytest.fixture
def directory() -> Iterator[Path]:
    path = Path("/tmp/akri-ctb-cleanup")
    yield path
    subprocess.run(_testbed("down", directory=path), env=_env(), capture_output=True, check=False)
    subprocess.run(["rm", "-rf", str(path)], check=False)


def _down(directory: Path) -> str:
    result = subprocess.run(
        _testbed("down", directory=directory),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_down_after_up_leaves_the_machine_as_it_was(directory: Path) -> None:
    before = snapshot()
    result = subprocess.run(
        _testbed("up", "--containers", "--nodes", "2", directory=directory),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=UP_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    running = snapshot()
    # The testbed really changed the machine while it ran (so the comparison below can fail).
    assert set(before.differences(running)) >= {"processes", "namespaces", "cgroups", "mounts"}
    said = _down(directory)
    assert before.differences(snapshot()) == {}, said


def test_down_after_the_launcher_was_killed_in_up(directory: Path) -> None:
    before = snapshot()
    launcher = subprocess.Popen(
        _testbed("up", "--containers", "--nodes", "2", directory=directory),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state = directory / "state.json"

    def kubelet_started() -> bool:
        try:
            processes = json.loads(state.read_text())["processes"]
        except (OSError, ValueError, KeyError):
            return False
        return any(p["name"] == "testbed-node-2/kubelet" for p in processes)

    deadline = time.monotonic() + UP_TIMEOUT_S
    while not kubelet_started():
        assert launcher.poll() is None, "up ended before its second kubelet started"
        assert time.monotonic() < deadline, "the second kubelet did not start"
        time.sleep(0.1)  # wait-ok: poll interval of a loop with a deadline
    launcher.send_signal(signal.SIGKILL)
    launcher.wait(timeout=10)
    assert before.differences(snapshot()) != {}
    said = _down(directory)
    assert before.differences(snapshot()) == {}, said
