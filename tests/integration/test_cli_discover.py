"""``akri discover`` as a user runs it, against real debugEcho handler processes."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.support.processes import ProcessGroup, wait_for

CONFIGURATION = textwrap.dedent(
    """\
    apiVersion: akri.sh/v0
    kind: Configuration
    metadata:
      name: akri-debug-echo
    spec:
      discoveryHandler:
        name: debugEcho
        discoveryDetails: |+
          descriptions:
          - foo0
          - foo1
      capacity: 2
      brokerProperties:
        RESOLUTION_WIDTH: "800"
    """
)
NAMES = ["akri-debug-echo-8120fe", "akri-debug-echo-a19705"]


async def akri(*args: str, timeout: float = 30) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "akri_cli",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "configuration.yaml"
    path.write_text(CONFIGURATION)
    return path


async def start_handler(processes: ProcessGroup, directory: Path, availability: Path) -> None:
    await processes.start(
        "akri_debug_echo",
        env={
            "DISCOVERY_HANDLERS_DIRECTORY": str(directory),
            "DEBUG_ECHO_INSTANCES_SHARED": "true",
            "DEBUG_ECHO_AVAILABILITY_FILE": str(availability),
        },
    )
    await wait_for((directory / "debugEcho.sock").exists, timeout=10, what="the handler's socket")


async def test_direct_endpoint_prints_the_instances(
    processes: ProcessGroup, sockets_dir: Path, config_file: Path, tmp_path: Path
) -> None:
    await start_handler(processes, sockets_dir, tmp_path / "a.txt")
    code, out, err = await akri(
        "discover",
        "-f",
        str(config_file),
        "--endpoint",
        f"unix://{sockets_dir / 'debugEcho.sock'}",
        "--shared",
        "--node",
        "node-a",
        "-o",
        "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert [i["name"] for i in doc["instances"]] == NAMES
    first = doc["instances"][0]
    assert first["spec"] == {
        "configurationName": "akri-debug-echo",
        "cdiName": "akri.sh/akri-debug-echo=8120fe",
        "capacity": 2,
        "brokerProperties": {"DEBUG_ECHO_DESCRIPTION": "foo0", "RESOLUTION_WIDTH": "800"},
        "shared": True,
        "nodes": ["node-a"],
        "deviceUsage": {},
    }
    assert first["device"] == {
        "id": "foo0",
        "properties": {"DEBUG_ECHO_DESCRIPTION": "foo0"},
        "mounts": [],
        "deviceSpecs": [],
    }


async def test_hosting_the_registration_socket(
    processes: ProcessGroup, sockets_dir: Path, config_file: Path, tmp_path: Path
) -> None:
    """Without --endpoint, akri discover plays the agent: handlers register with it."""
    cli = asyncio.create_task(
        akri(
            "discover",
            "-f",
            str(config_file),
            "--handlers-dir",
            str(sockets_dir),
            "--timeout",
            "20",
        )
    )
    await wait_for(
        (sockets_dir / "agent-registration.sock").exists, timeout=10, what="registration socket"
    )
    await start_handler(processes, sockets_dir, tmp_path / "a.txt")
    code, out, err = await cli
    assert code == 0, err
    doc = yaml.safe_load(out)
    assert doc["handler"] == "debugEcho"
    assert doc["endpoints"] == [str(sockets_dir / "debugEcho.sock")]
    assert [i["name"] for i in doc["instances"]] == NAMES
    assert not (sockets_dir / "agent-registration.sock").exists()


async def test_watch_prints_every_change(
    processes: ProcessGroup, sockets_dir: Path, config_file: Path, tmp_path: Path
) -> None:
    availability = tmp_path / "a.txt"
    watcher = await processes.start(
        "akri_cli",
        "discover",
        "-f",
        str(config_file),
        "--handlers-dir",
        str(sockets_dir),
        "--watch",
        "-o",
        "json",
        name="akri-watch",
    )
    await wait_for(
        (sockets_dir / "agent-registration.sock").exists, timeout=10, what="registration socket"
    )
    await start_handler(processes, sockets_dir, availability)
    first = await watcher.read_json(timeout=10)
    assert [i["name"] for i in first["instances"]] == NAMES
    availability.write_text("OFFLINE")
    assert (await watcher.read_json(timeout=5))["instances"] == []
    availability.write_text("online again")
    assert [i["name"] for i in (await watcher.read_json(timeout=5))["instances"]] == NAMES
    assert await processes.stop(watcher) == 0
    assert not (sockets_dir / "agent-registration.sock").exists()


async def test_agent_restart_handler_registers_within_2s(
    processes: ProcessGroup, sockets_dir: Path, config_file: Path, tmp_path: Path
) -> None:
    """The agent core as a real process is stopped and started again; the handler comes back."""
    args = ("discover", "-f", str(config_file), "--handlers-dir", str(sockets_dir), "--watch")
    first = await processes.start("akri_cli", *args, "-o", "json", name="agent-1")
    await wait_for(
        (sockets_dir / "agent-registration.sock").exists, timeout=10, what="registration socket"
    )
    await start_handler(processes, sockets_dir, tmp_path / "a.txt")
    assert [i["name"] for i in (await first.read_json(timeout=10))["instances"]] == NAMES
    assert await processes.stop(first) == 0

    second = await processes.start("akri_cli", *args, "-o", "json", name="agent-2")
    await wait_for((sockets_dir / "agent-registration.sock").exists, timeout=10, what="new socket")
    doc = await second.read_json(timeout=2)
    assert [i["name"] for i in doc["instances"]] == NAMES


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("metadata: {name: x}\nspec:\n  capacity: 1\n", "spec.discoveryHandler: is required"),
        (
            "metadata: {name: x}\nspec:\n  discoveryHandler: {name: debugEcho}\n  capacity: two\n",
            "spec.capacity: expected an integer (got 'two')",
        ),
        ("metadata: [\n", "not valid YAML"),
    ],
)
async def test_bad_configuration_is_one_line_and_exit_2(
    tmp_path: Path, document: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(document)
    code, out, err = await akri("discover", "-f", str(path), "--endpoint", "unix:///nowhere.sock")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"akri discover: error: {path}: ")
    assert message in err


async def test_bad_details_exit_2_naming_the_field(
    processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    await start_handler(processes, sockets_dir, tmp_path / "a.txt")
    path = tmp_path / "bad.yaml"
    path.write_text(
        "metadata: {name: x}\nspec:\n  discoveryHandler:\n    name: debugEcho\n"
        "    discoveryDetails: 'descriptions: 5'\n"
    )
    code, _, err = await akri(
        "discover", "-f", str(path), "--endpoint", f"unix://{sockets_dir / 'debugEcho.sock'}"
    )
    assert code == 2
    assert err.count("\n") == 1, err
    assert "rejected discoveryDetails" in err
    assert "descriptions" in err


async def test_no_handler_within_timeout_exits_1(sockets_dir: Path, config_file: Path) -> None:
    code, out, err = await akri(
        "discover", "-f", str(config_file), "--handlers-dir", str(sockets_dir), "--timeout", "0.5"
    )
    assert code == 1
    assert out == ""
    assert err == (
        "akri discover: error: no discovery handler named 'debugEcho' registered in"
        f" {sockets_dir} within 0.5s\n"
    )


async def test_unreachable_endpoint_exits_1(sockets_dir: Path, config_file: Path) -> None:
    code, _, err = await akri(
        "discover", "-f", str(config_file), "--endpoint", f"unix://{sockets_dir}/absent.sock"
    )
    assert code == 1
    assert "is unreachable" in err


async def test_bad_endpoint_option_exits_2(config_file: Path) -> None:
    code, _, err = await akri("discover", "-f", str(config_file), "--endpoint", "ftp://x")
    assert code == 2
    assert "--endpoint: expected unix:///path/to.sock or http://host:port (got 'ftp://x')" in err
