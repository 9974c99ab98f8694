"""Akri agents on the testbed's nodes for tests: start them, wait on their Instances, clean up.

An agent is started as a real process for one testbed node, with the environment upstream's chart
gives it (``AGENT_NODE_NAME``, ``DISCOVERY_HANDLERS_DIRECTORY``, ``KUBECONFIG``,
``KUBELET_DEVICE_PLUGINS_DIRECTORY``, ``KUBELET_POD_RESOURCES_SOCKET``, ``METRICS_PORT``), and is
ready once its registration socket exists. ``start_node_agents`` starts one agent and one debugEcho
handler per node. ``delete_configurations`` is the teardown of a namespace the agents worked in:
it deletes the Configurations while the agents still run, so that they remove their finalizers,
and waits until no Configuration and no Instance is left.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from akri_testbed.cluster import Cluster, NodeInfo

from akri_common.k8s.errors import NotFoundError
from akri_common.k8s.objects import CONFIGURATION, Objects
from tests.support import kube
from tests.support.processes import Child, ProcessGroup, wait_for

JSON_LOGS: Mapping[str, str] = {"LOG_FORMAT": "json"}
REGISTRATION_SOCKET = "agent-registration.sock"


class Scope(Protocol):
    """Where a test's Configurations and Instances live: its API client and namespace."""

    @property
    def objects(self) -> Objects: ...

    @property
    def namespace(self) -> str: ...


@dataclass(frozen=True)
class Namespaced:
    """A ``Scope`` for code that has no setup object of its own."""

    objects: Objects
    namespace: str


@dataclass
class NodeAgent:
    """An agent and its debugEcho handler on one testbed node."""

    name: str
    handlers_dir: Path
    availability: Path
    metrics_port: int
    agent: Child


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def remove_dead_sockets(directory: Path) -> None:
    """Removes the sockets nothing accepts on any more (those an agent killed with SIGKILL left in
    a node's device-plugin directory)."""
    for path in directory.glob("*.sock"):
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(path))
            except ConnectionRefusedError:
                path.unlink(missing_ok=True)
            except OSError:
                continue


def agent_env(
    testbed: Cluster, node: NodeInfo, handlers_dir: Path, *, metrics_port: int
) -> dict[str, str]:
    """The environment an agent for ``node`` needs (without logging settings)."""
    return {
        "AGENT_NODE_NAME": node.name,
        "DISCOVERY_HANDLERS_DIRECTORY": str(handlers_dir),
        "KUBECONFIG": str(testbed.kubeconfig),
        "KUBELET_DEVICE_PLUGINS_DIRECTORY": str(node.device_plugin_dir),
        "KUBELET_POD_RESOURCES_SOCKET": str(node.pod_resources_socket),
        "METRICS_PORT": str(metrics_port),
    }


async def start_agent(
    processes: ProcessGroup,
    testbed: Cluster,
    node: NodeInfo,
    handlers_dir: Path,
    *,
    metrics_port: int | None = None,
    env: Mapping[str, str] = JSON_LOGS,
    name: str | None = None,
    python: str = sys.executable,
    what: str = "agent socket",
) -> Child:
    """Starts the agent for ``node`` serving registrations in ``handlers_dir`` and waits (20 s at
    most) for its registration socket. ``env`` is added to the agent's environment (JSON logs by
    default); ``metrics_port`` is a free port unless given; ``python`` is the interpreter (the
    test's unless a benchmark passes the runtime-only one); ``what`` names the wait."""
    port = free_port() if metrics_port is None else metrics_port
    agent = await processes.start(
        "akri_agent",
        env={**agent_env(testbed, node, handlers_dir, metrics_port=port), **env},
        name=name or f"agent-{node.name}",
        python=python,
    )
    await wait_for((handlers_dir / REGISTRATION_SOCKET).exists, timeout=20, what=what)
    return agent


async def start_debug_echo(
    processes: ProcessGroup,
    handlers_dir: Path,
    availability: Path,
    *,
    shared: bool,
    name: str | None = None,
    python: str = sys.executable,
) -> Child:
    """Starts a debugEcho handler registering with the agent serving in ``handlers_dir``; its
    devices are offline while ``availability`` holds ``OFFLINE``."""
    return await processes.start(
        "akri_debug_echo",
        env={
            "DISCOVERY_HANDLERS_DIRECTORY": str(handlers_dir),
            "DEBUG_ECHO_INSTANCES_SHARED": "true" if shared else "false",
            "DEBUG_ECHO_AVAILABILITY_FILE": str(availability),
        },
        name=name,
        python=python,
    )


async def start_node_agents(
    testbed: Cluster, processes: ProcessGroup, tmp_path: Path, *, shared: bool
) -> list[NodeAgent]:
    """An agent and a debugEcho handler (``shared`` or not) on every testbed node; each node's
    availability file is ``<tmp_path>/<node>-availability.txt``."""
    started = []
    for node in testbed.nodes:
        handlers_dir = processes.scratch_dir()
        availability = tmp_path / f"{node.name}-availability.txt"
        port = free_port()
        agent = await start_agent(processes, testbed, node, handlers_dir, metrics_port=port)
        await start_debug_echo(
            processes, handlers_dir, availability, shared=shared, name=f"debug-echo-{node.name}"
        )
        started.append(NodeAgent(node.name, handlers_dir, availability, port, agent))
    return started


async def names_and_nodes(scope: Scope) -> dict[str, list[str]]:
    """Each Instance of the namespace with its sorted ``nodes``."""
    found = await kube.instances(scope.objects, scope.namespace)
    return {name: sorted(item["spec"]["nodes"]) for name, item in found.items()}


async def wait_instances(
    scope: Scope,
    expected: dict[str, list[str]],
    *,
    timeout: float = 15,
    details: Callable[[], str] | None = None,
) -> None:
    """Waits until the namespace's Instances and their nodes are exactly ``expected``; on failure
    says what was found, followed by ``details()`` (logs, say) when given."""

    async def matches() -> bool:
        return await names_and_nodes(scope) == expected

    try:
        await wait_for(matches, timeout=timeout, what=f"Instances {expected}", interval=0.1)
    except AssertionError as err:
        found = await names_and_nodes(scope)
        extra = f"\n{details()}" if details is not None else ""
        raise AssertionError(f"{err}; found {found}{extra}") from None


async def delete_configurations(scope: Scope, *, timeout: float = 20) -> None:
    """Deletes the namespace's Configurations while the agents run, so they remove their
    finalizers, and waits until no Configuration and no Instance is left there."""
    items, _ = await scope.objects.list_all(CONFIGURATION, namespace=scope.namespace)
    for item in items:
        with contextlib.suppress(NotFoundError):
            await scope.objects.delete(
                CONFIGURATION, namespace=scope.namespace, name=item["metadata"]["name"]
            )

    async def gone() -> bool:
        left, _ = await scope.objects.list_all(CONFIGURATION, namespace=scope.namespace)
        return not left and not await kube.instances(scope.objects, scope.namespace)

    await wait_for(
        gone, timeout=timeout, what="Configurations and Instances to be deleted", interval=0.1
    )
