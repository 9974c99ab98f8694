"""Benchmarks of the discovery path; they print figures and assert only that the path works.

- availability-file write -> changed desired Instances in the agent core (100 changes);
- resident memory of an idle debugEcho handler and of an idle agent core process.
Run with ``make bench``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from akri_agent.discovery.manager import ConfigurationKey, DiscoveryManager
from akri_agent.registration.server import RegistrationServer
from akri_common.crds.configuration import parse_configuration
from akri_common.ids import NodeName
from tests.bench.figures import latency_line, rss_mib
from tests.support.processes import ProcessGroup, wait_for

pytestmark = pytest.mark.bench

CHANGES = 100
# Processes whose memory is reported run on the runtime-only interpreter when `make bench` gives one.
RUNTIME_PYTHON = os.environ.get("AKRI_RUNTIME_PYTHON", sys.executable)
CONFIGURATION = {
    "metadata": {"name": "akri-debug-echo"},
    "spec": {
        "discoveryHandler": {"name": "debugEcho", "discoveryDetails": "descriptions: [foo0, foo1]"}
    },
}


def handler_env(directory: Path, availability: Path) -> dict[str, str]:
    return {
        "DISCOVERY_HANDLERS_DIRECTORY": str(directory),
        "DEBUG_ECHO_INSTANCES_SHARED": "true",
        "DEBUG_ECHO_AVAILABILITY_FILE": str(availability),
    }


async def test_availability_change_to_desired_instances(
    processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    availability = tmp_path / "availability.txt"
    changed = asyncio.Event()
    manager = DiscoveryManager(node=NodeName("bench"), on_change=lambda _key: changed.set())
    configuration = parse_configuration(CONFIGURATION)
    key = ConfigurationKey.of(configuration)

    def count() -> int:
        state = manager.state(key)
        return 0 if state is None else len(state.instances)

    async with RegistrationServer(sockets_dir, on_register=manager.register):
        try:
            await manager.apply(configuration)
            handler = await processes.start(
                "akri_debug_echo",
                env=handler_env(sockets_dir, availability),
                python=RUNTIME_PYTHON,
            )
            await wait_for(lambda: count() == 2, timeout=10, what="first list")
            samples: list[float] = []
            for i in range(CHANGES):
                offline = i % 2 == 0
                want = 0 if offline else 2
                changed.clear()
                start = time.perf_counter()
                availability.write_text("OFFLINE" if offline else "online")
                while count() != want:
                    await asyncio.wait_for(changed.wait(), timeout=5)
                    changed.clear()
                samples.append(time.perf_counter() - start)
            print()
            print(latency_line("availability write -> desired Instances changed", samples))
            print(f"idle debugEcho handler RSS: {rss_mib(handler.pid):.1f} MiB")
        finally:
            await manager.close()


async def test_idle_agent_core_memory(
    processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "configuration.yaml"
    config.write_text(
        "metadata: {name: akri-debug-echo}\nspec:\n  discoveryHandler:\n"
        "    name: debugEcho\n    discoveryDetails: 'descriptions: [foo0, foo1]'\n"
    )
    agent = await processes.start(
        "akri_cli",
        "discover",
        "-f",
        str(config),
        "--handlers-dir",
        str(sockets_dir),
        "--watch",
        "-o",
        "json",
        name="agent-core",
        python=RUNTIME_PYTHON,
    )
    await wait_for(
        (sockets_dir / "agent-registration.sock").exists, timeout=10, what="registration socket"
    )
    handler = await processes.start(
        "akri_debug_echo", env=handler_env(sockets_dir, tmp_path / "a.txt"), python=RUNTIME_PYTHON
    )
    document = await agent.read_json(timeout=10)
    assert len(document["instances"]) == 2
    print()
    print(f"interpreter: {RUNTIME_PYTHON}")
    print(f"idle agent core (akri discover --watch) RSS: {rss_mib(agent.pid):.1f} MiB")
    print(f"idle debugEcho handler RSS: {rss_mib(handler.pid):.1f} MiB")
