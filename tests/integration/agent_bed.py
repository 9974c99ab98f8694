"""The testbed bed of the agent's restart and device-path tests: agents, handlers, a watch.

``Bed`` starts agents and debugEcho handlers on the testbed's nodes, restarts an agent (SIGKILL),
applies Configurations and reads Instances and broker pods; ``InstanceHistory`` records every
version of the namespace's Instances a watch sees, to show what never happened; ``registered``
waits until an agent process has registered a plugin with kubelet. The ``bed`` fixture gives a
fresh namespace and tears it down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from akri_testbed.cluster import Cluster, NodeInfo

from akri_common.k8s.errors import ApiError
from akri_common.k8s.objects import (
    CONFIGURATION,
    INSTANCE,
    JOB,
    POD,
    SERVICE,
    JsonObject,
    Objects,
)
from tests.support import kube
from tests.support.agents import (
    NodeAgent,
    delete_configurations,
    free_port,
    remove_dead_sockets,
    start_agent,
    start_debug_echo,
)
from tests.support.processes import Child, ProcessGroup, wait_for

# Short graces, so that a vanished device is released quickly after a restart in these tests.
FAST = {"LOG_FORMAT": "json", "AGENT_REGISTRATION_GRACE_SECONDS": "3"}
BROKER = {
    "containers": [
        {"name": "broker", "image": "busybox", "resources": {"limits": {"{{PLACEHOLDER}}": "1"}}}
    ]
}
SERVICE_SPEC = {"type": "ClusterIP", "ports": [{"name": "grpc", "port": 8083, "targetPort": 8083}]}


@dataclass
class Bed:
    testbed: Cluster
    objects: Objects
    namespace: str
    processes: ProcessGroup
    tmp_path: Path
    nodes: list[NodeAgent] = field(default_factory=list)
    handlers: dict[str, Child] = field(default_factory=dict)
    agent_env: dict[str, str] = field(default_factory=lambda: dict(FAST))

    def node(self, name: str) -> NodeInfo:
        return next(n for n in self.testbed.nodes if n.name == name)

    async def start_agents(self, *, shared: bool) -> None:
        for node in self.testbed.nodes:
            handlers_dir = self.processes.scratch_dir()
            availability = self.tmp_path / f"{node.name}-availability.txt"
            port = free_port()
            agent = await start_agent(
                self.processes, self.testbed, node, handlers_dir, metrics_port=port,
                env=self.agent_env,
            )  # fmt: skip
            self.handlers[node.name] = await start_debug_echo(
                self.processes, handlers_dir, availability, shared=shared,
                name=f"debug-echo-{node.name}",
            )  # fmt: skip
            self.nodes.append(NodeAgent(node.name, handlers_dir, availability, port, agent))

    async def restart_agent(self, agent: NodeAgent, *, kill: bool = True) -> None:
        """Kills the agent (SIGKILL: no cleanup at all) and starts it again."""
        await self.processes.stop(agent.agent, sig=signal.SIGKILL if kill else signal.SIGTERM)
        remove_dead_sockets(self.node(agent.name).device_plugin_dir)
        agent.agent = await start_agent(
            self.processes, self.testbed, self.node(agent.name), agent.handlers_dir,
            metrics_port=agent.metrics_port, env=self.agent_env,
            what="agent socket after a restart",
        )  # fmt: skip

    async def apply(self, name: str, *descriptions: str, **spec: Any) -> JsonObject:
        body = kube.configuration(name, self.namespace, *descriptions)
        body["spec"].update(spec)
        return await self.objects.apply(CONFIGURATION, body, field_manager="akri-tests", force=True)

    async def instances(self) -> dict[str, JsonObject]:
        return await kube.instances(self.objects, self.namespace)

    async def state(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Each Instance: its uid and sorted nodes."""
        return {
            name: (i["metadata"]["uid"], tuple(sorted(i["spec"]["nodes"])))
            for name, i in (await self.instances()).items()
        }

    async def brokers(self) -> dict[str, str]:
        """Each live broker pod: its uid."""
        items, _ = await self.objects.list_all(
            POD, namespace=self.namespace, label_selector="akri.sh/instance"
        )
        return {
            p["metadata"]["name"]: p["metadata"]["uid"]
            for p in items
            if not p["metadata"].get("deletionTimestamp")
        }

    async def running_brokers(self) -> dict[str, str]:
        items, _ = await self.objects.list_all(
            POD, namespace=self.namespace, label_selector="akri.sh/instance"
        )
        return {
            p["metadata"]["name"]: p["metadata"]["uid"]
            for p in items
            if not p["metadata"].get("deletionTimestamp")
            and p.get("status", {}).get("phase") == "Running"
        }

    async def owned_by(self, configuration: str) -> dict[str, list[str]]:
        """What of a Configuration is left: Instances, broker pods, Jobs and Services."""
        left: dict[str, list[str]] = {}
        left["instances"] = [
            n for n, i in (await self.instances()).items()
            if i["spec"]["configurationName"] == configuration
        ]  # fmt: skip
        selector = f"akri.sh/configuration={configuration}"
        for label, kind in (("pods", POD), ("jobs", JOB), ("services", SERVICE)):
            items, _ = await self.objects.list_all(
                kind, namespace=self.namespace, label_selector=selector
            )
            left[label] = [i["metadata"]["name"] for i in items]
        return {k: v for k, v in left.items() if v}


def registrations(agent: Child, resource: str) -> int:
    """How often this agent process has registered a plugin for ``resource`` with kubelet."""
    count = 0
    for line in agent.log().splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("event") == "plugin_registered" and entry.get("resource") == resource:
                count += 1
    return count


async def registered(
    agent: Child, resource: str, *, more_than: int = 0, timeout: float = 10
) -> None:
    """Waits until the agent has registered ``resource`` with kubelet more than ``more_than``
    times."""
    await wait_for(
        lambda: registrations(agent, resource) > more_than,
        timeout=timeout,
        what=f"{resource} registered by {agent.name}",
        interval=0.05,
    )


class InstanceHistory:
    """Every version of the namespace's Instances seen by a watch, to show what never happened."""

    def __init__(self, objects: Objects, namespace: str) -> None:
        self._objects = objects
        self._namespace = namespace
        self.events: list[tuple[str, str, tuple[str, ...]]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> InstanceHistory:
        _, version = await self._objects.list_all(INSTANCE, namespace=self._namespace)
        self._task = asyncio.create_task(self._watch(version))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def last(self, name: str) -> str | None:
        """The type of the last event seen for Instance ``name`` (None if none yet)."""
        return next((e[0] for e in reversed(self.events) if e[1] == name), None)

    async def _watch(self, version: str) -> None:
        while True:
            try:
                async for event in self._objects.watch(
                    INSTANCE, resource_version=version, namespace=self._namespace
                ):
                    metadata = event.object.get("metadata", {})
                    version = str(metadata.get("resourceVersion", version))
                    if event.type == "BOOKMARK":
                        continue
                    nodes = tuple(sorted((event.object.get("spec") or {}).get("nodes") or ()))
                    self.events.append((event.type, str(metadata.get("name")), nodes))
            except ApiError:
                await asyncio.sleep(0.1)  # wait-ok: resuming a watch the server ended

    def dropped(self, name: str, node: str) -> list[tuple[str, str, tuple[str, ...]]]:
        """Events in which Instance ``name`` did not list ``node`` (or was deleted)."""
        return [e for e in self.events if e[1] == name and (e[0] == "DELETED" or node not in e[2])]


@pytest.fixture
async def bed(
    testbed: Cluster, objects: Objects, processes: ProcessGroup, tmp_path: Path
) -> AsyncIterator[Bed]:
    namespace = f"r-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, namespace)
    setup = Bed(testbed, objects, namespace, processes, tmp_path)
    yield setup
    with contextlib.suppress(AssertionError):
        await delete_configurations(setup, timeout=20)
    await processes.stop_all()
    await kube.delete_namespace(objects, namespace)


async def settle(bed: Bed, *, what: str, timeout: float = 30) -> None:
    """Waits until every broker pod of every Instance is Running."""

    async def all_running() -> bool:
        instances = await bed.instances()
        wanted = sum(len(i["spec"]["nodes"]) for i in instances.values())
        return bool(instances) and len(await bed.running_brokers()) == wanted

    await wait_for(all_running, timeout=timeout, what=what, interval=0.2)


async def instance_count_is(bed: Bed, count: int) -> bool:
    return len(await bed.instances()) == count


async def state_is(bed: Bed, expected: dict[str, tuple[str, tuple[str, ...]]]) -> bool:
    return await bed.state() == expected
