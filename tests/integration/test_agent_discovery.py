"""The agent's discovery core with real debugEcho handler processes over real Unix sockets.

The core (registration server + discovery manager) runs in the test process; each handler is its
own process, registering on the agent's socket exactly as it would on a node.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from akri_agent.discovery.manager import ConfigurationKey, DiscoveryManager, DiscoveryTimings
from akri_agent.registration.server import RegistrationServer
from akri_common.crds.configuration import Configuration, parse_configuration
from akri_common.crds.naming import device_hash
from akri_common.ids import DeviceId, NodeName
from tests.support.processes import Child, ProcessGroup, wait_for

NODE = NodeName("node-a")
SHARED_NAMES = {"akri-debug-echo-8120fe", "akri-debug-echo-a19705"}


def configuration(*descriptions: str, capacity: int = 2) -> Configuration:
    return parse_configuration(
        {
            "apiVersion": "akri.sh/v0",
            "kind": "Configuration",
            "metadata": {"name": "akri-debug-echo", "namespace": "default", "uid": "u-1"},
            "spec": {
                "discoveryHandler": {
                    "name": "debugEcho",
                    "discoveryDetails": "descriptions:\n"
                    + "".join(f"- {d}\n" for d in descriptions),
                },
                "capacity": capacity,
                "brokerProperties": {"RESOLUTION": "640x480"},
            },
        }
    )


class Core:
    """The agent's discovery core, started and restarted inside the test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # A short registration grace: a handler that went away is given 1 s to come back.
        self.manager = DiscoveryManager(
            node=NODE,
            on_change=lambda _key: None,
            timings=DiscoveryTimings(registration_grace=1.0),
        )
        self.server = RegistrationServer(directory, on_register=self.manager.register)

    def names(self, configuration: Configuration) -> set[str]:
        state = self.manager.state(ConfigurationKey.of(configuration))
        return set() if state is None else {i.name for i in state.instances}

    async def close(self) -> None:
        await self.server.stop()
        await self.manager.close()


@pytest.fixture
async def core(sockets_dir: Path, processes: ProcessGroup) -> AsyncIterator[Core]:
    agent = Core(sockets_dir)
    await agent.server.start()
    yield agent
    await agent.close()


async def start_handler(
    processes: ProcessGroup,
    directory: Path,
    availability: Path,
    *,
    shared: bool = True,
    network_port: int | None = None,
) -> Child:
    env = {
        "DISCOVERY_HANDLERS_DIRECTORY": str(directory),
        "DEBUG_ECHO_INSTANCES_SHARED": "true" if shared else "false",
        "DEBUG_ECHO_AVAILABILITY_FILE": str(availability),
    }
    if network_port is not None:
        env |= {"POD_IP": "127.0.0.1", "DISCOVERY_HANDLER_PORT": str(network_port)}
    return await processes.start("akri_debug_echo", env=env, name="debug-echo")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_instances_follow_the_availability_file(
    core: Core, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    availability = tmp_path / "availability.txt"
    config = configuration("foo0", "foo1")
    await core.manager.apply(config)
    await start_handler(processes, sockets_dir, availability)
    await wait_for(lambda: core.names(config) == SHARED_NAMES, timeout=10, what="both Instances")

    state = core.manager.state(ConfigurationKey.of(config))
    assert state is not None
    foo0 = next(i for i in state.instances if i.device.id == "foo0")
    assert foo0.spec.cdi_name == "akri.sh/akri-debug-echo=8120fe"
    assert foo0.spec.capacity == 2
    assert foo0.spec.shared is True
    assert foo0.spec.nodes == (NODE,)
    assert dict(foo0.spec.broker_properties) == {
        "DEBUG_ECHO_DESCRIPTION": "foo0",
        "RESOLUTION": "640x480",
    }

    availability.write_text("OFFLINE\n")
    await wait_for(lambda: core.names(config) == set(), timeout=2, what="OFFLINE to empty the list")
    availability.unlink()
    await wait_for(lambda: core.names(config) == SHARED_NAMES, timeout=2, what="Instances back")


async def test_handler_restarted_is_picked_up(
    core: Core, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    config = configuration("foo0", "foo1")
    await core.manager.apply(config)
    handler = await start_handler(processes, sockets_dir, tmp_path / "a.txt")
    await wait_for(lambda: core.names(config) == SHARED_NAMES, timeout=10, what="Instances")

    assert await processes.stop(handler) == 0
    assert not (sockets_dir / "debugEcho.sock").exists(), "the handler removes its socket"
    await wait_for(lambda: len(core.manager.registry) == 0, timeout=5, what="endpoint forgotten")
    state = core.manager.state(ConfigurationKey.of(config))
    assert state is not None
    assert not state.listed, "a forgotten endpoint is not an answer"
    # Its devices are kept for the registration grace, then dropped.
    await wait_for(lambda: core.names(config) == set(), timeout=5, what="Instances to go")

    await start_handler(processes, sockets_dir, tmp_path / "a.txt")
    await wait_for(lambda: core.names(config) == SHARED_NAMES, timeout=10, what="Instances back")


async def test_agent_restarted_handler_registers_again_within_2s(
    core: Core, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    config = configuration("foo0")
    await core.manager.apply(config)
    await start_handler(processes, sockets_dir, tmp_path / "a.txt")
    await wait_for(lambda: len(core.manager.registry) == 1, timeout=10, what="registration")
    await wait_for(lambda: bool(core.names(config)), timeout=5, what="Instances")

    await core.close()
    restarted = Core(sockets_dir)
    try:
        await restarted.server.start()
        await restarted.manager.apply(config)
        took = await wait_for(
            lambda: len(restarted.manager.registry) == 1, timeout=2, what="re-registration"
        )
        print(f"re-registered {took * 1000:.0f} ms after the agent came back")
        await wait_for(
            lambda: restarted.names(config) == {"akri-debug-echo-8120fe"},
            timeout=2,
            what="Instances after the restart",
        )
    finally:
        await restarted.close()


async def test_two_endpoints_with_one_name_are_merged(
    core: Core, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    """One handler over a Unix socket (not shared), one over TCP on loopback (shared)."""
    config = configuration("foo0")
    await core.manager.apply(config)
    local_file = tmp_path / "local.txt"
    await start_handler(processes, sockets_dir, local_file, shared=False)
    port = free_port()
    await start_handler(processes, sockets_dir, tmp_path / "net.txt", network_port=port)

    local_name = "akri-debug-echo-" + device_hash(DeviceId("foo0"), shared=False, node=NODE)
    both = {"akri-debug-echo-8120fe", local_name}
    await wait_for(lambda: core.names(config) == both, timeout=10, what="both endpoints' devices")
    addresses = {e.address for e in core.manager.registry.endpoints(config.discovery_handler.name)}
    assert addresses == {str(sockets_dir / "debugEcho.sock"), f"http://127.0.0.1:{port}"}

    local_file.write_text("OFFLINE")
    await wait_for(
        lambda: core.names(config) == {"akri-debug-echo-8120fe"},
        timeout=2,
        what="only the network endpoint's device",
    )


async def test_changed_details_restart_discovery(
    core: Core, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    await core.manager.apply(configuration("foo0"))
    await start_handler(processes, sockets_dir, tmp_path / "a.txt")
    config = configuration("bar0", "bar1", capacity=3)
    await wait_for(
        lambda: core.names(config) == {"akri-debug-echo-8120fe"}, timeout=10, what="foo0"
    )
    await core.manager.apply(config)
    await wait_for(
        lambda: core.names(config) == {"akri-debug-echo-d46b65", "akri-debug-echo-ab76e6"},
        timeout=2,
        what="the new descriptions",
    )
    state = core.manager.state(ConfigurationKey.of(config))
    assert state is not None
    assert {i.spec.capacity for i in state.instances} == {3}


async def test_bad_details_are_reported_not_retried(
    core: Core, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    bad = parse_configuration(
        {
            "metadata": {"name": "bad"},
            "spec": {"discoveryHandler": {"name": "debugEcho", "discoveryDetails": "nothing: 1"}},
        }
    )
    await core.manager.apply(bad)
    await start_handler(processes, sockets_dir, tmp_path / "a.txt")
    key = ConfigurationKey.of(bad)

    def rejected() -> bool:
        state = core.manager.state(key)
        return state is not None and bool(state.errors)

    await wait_for(rejected, timeout=10, what="the handler to reject the details")
    state = core.manager.state(key)
    assert state is not None
    assert state.instances == ()
    assert "descriptions" in str(state.errors[0])
    assert len(core.manager.registry) == 1, "a handler that rejects details stays registered"


async def test_registration_socket_is_not_world_writable(core: Core) -> None:
    mode = core.server.path.stat().st_mode & 0o777
    assert mode & 0o002 == 0
    assert mode == 0o660
