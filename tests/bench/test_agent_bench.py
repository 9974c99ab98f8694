"""Benchmarks of the agent on the testbed; they print figures and assert only that the path works.

- availability-file write -> Instance created or deleted, as a watcher of the API server sees it;
- 500 debugEcho devices on one node -> all Instances applied: time, and API requests per device;
- the agent's resident memory, idle and with 500 Instances.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from akri_testbed.cluster import Cluster

from akri_common.k8s.objects import CONFIGURATION, INSTANCE, NODE, Objects
from tests.bench.figures import latency_line, rss_mib
from tests.support import agents, kube
from tests.support.agents import free_port
from tests.support.metrics import metric_sum, scrape
from tests.support.processes import Child, ProcessGroup, wait_for

pytestmark = pytest.mark.bench
RUNTIME_PYTHON = os.environ.get("AKRI_RUNTIME_PYTHON", sys.executable)
TOGGLES = 40
MANY = 500
ALLOCATABLE_ROUNDS = 5


async def start_agent(
    processes: ProcessGroup, testbed: Cluster, handlers: Path, availability: Path
) -> tuple[Child, int]:
    port = free_port()
    agent = await agents.start_agent(
        processes,
        testbed,
        testbed.nodes[0],
        handlers,
        metrics_port=port,
        env={"LOG_LEVEL": "warning"},
        name="agent",
        python=RUNTIME_PYTHON,
    )
    await agents.start_debug_echo(
        processes, handlers, availability, shared=True, python=RUNTIME_PYTHON
    )
    return agent, port


async def api_requests(port: int) -> float:
    return metric_sum(await scrape(port, "/metrics"), "akri_api_requests_total")


async def test_agent_figures(
    testbed: Cluster, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    availability = tmp_path / "availability.txt"
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    async with kube.api(testbed.kubeconfig) as objects:
        await kube.install_crds(objects)
        await kube.create_namespace(objects, namespace)
        agent, port = await start_agent(processes, testbed, sockets_dir, availability)
        await asyncio.sleep(2)  # wait-ok: let the idle agent settle before measuring its memory
        idle = rss_mib(agent.pid)
        try:
            await _toggles(objects, namespace, availability)
            await _allocatable(objects, namespace, availability, testbed.nodes[0].name)
            await _many(objects, namespace, port, agent, idle)
        finally:
            await agents.delete_configurations(agents.Namespaced(objects, namespace), timeout=120)


async def _toggles(objects: Objects, namespace: str, availability: Path) -> None:
    config = kube.configuration("bench-one", namespace, "foo0")
    await objects.apply(CONFIGURATION, config, field_manager="bench", force=True)
    await wait_for(
        lambda: _count(objects, namespace, 1), timeout=20, what="the first Instance", interval=0.05
    )
    _, version = await objects.list_all(INSTANCE, namespace=namespace)
    samples: list[float] = []
    events = objects.watch(INSTANCE, namespace=namespace, resource_version=version)
    for i in range(TOGGLES):
        offline = i % 2 == 0
        start = time.perf_counter()
        availability.write_text("OFFLINE" if offline else "online")
        wanted = "DELETED" if offline else "ADDED"
        while (await asyncio.wait_for(anext(events), 10)).type != wanted:
            pass
        samples.append(time.perf_counter() - start)
    await events.aclose()
    print()
    print(latency_line("availability write -> Instance created/deleted (API watch)", samples))
    await objects.delete(CONFIGURATION, namespace=namespace, name="bench-one")
    await wait_for(lambda: _count(objects, namespace, 0), timeout=20, what="no Instances")


async def _allocatable(objects: Objects, namespace: str, availability: Path, node: str) -> None:
    """availability-file write -> the Node's allocatable shows the Instance's resource."""
    resource = "akri.sh/bench-alloc-8120fe"
    config = kube.configuration("bench-alloc", namespace, "foo0")
    await objects.apply(CONFIGURATION, config, field_manager="bench", force=True)

    async def shows(expected: str | None) -> bool:
        node_obj = await objects.get(NODE, namespace=None, name=node)
        return bool(node_obj.get("status", {}).get("allocatable", {}).get(resource) == expected)

    await wait_for(lambda: shows("1"), timeout=60, what=f"{resource} allocatable", interval=0.05)
    samples: list[float] = []
    for _ in range(ALLOCATABLE_ROUNDS):
        availability.write_text("OFFLINE")
        await wait_for(lambda: shows("0"), timeout=60, what=f"{resource} withdrawn", interval=0.05)
        start = time.perf_counter()
        availability.write_text("online")
        await wait_for(lambda: shows("1"), timeout=60, what=f"{resource} back", interval=0.05)
        samples.append(time.perf_counter() - start)
    print(latency_line("availability write -> allocatable on the Node", samples))
    await objects.delete(CONFIGURATION, namespace=namespace, name="bench-alloc")
    await wait_for(lambda: _count(objects, namespace, 0), timeout=20, what="no Instances")


async def _many(objects: Objects, namespace: str, port: int, agent: Child, idle: float) -> None:
    before = await api_requests(port)
    descriptions = [f"device-{i:04d}" for i in range(MANY)]
    config = kube.configuration("bench-many", namespace)
    config["spec"]["discoveryHandler"]["discoveryDetails"] = yaml.safe_dump(
        {"descriptions": descriptions}
    )
    start = time.perf_counter()
    await objects.apply(CONFIGURATION, config, field_manager="bench", force=True)
    await wait_for(
        lambda: _count(objects, namespace, MANY),
        timeout=300,
        what=f"{MANY} Instances",
        interval=0.2,
    )
    took = time.perf_counter() - start
    requests = await api_requests(port) - before
    print(f"{MANY} devices -> {MANY} Instances applied in {took:.1f} s")
    print(f"API requests per device: {requests / MANY:.2f} ({requests:.0f} in all)")
    print(f"agent RSS idle: {idle:.1f} MiB; with {MANY} Instances: {rss_mib(agent.pid):.1f} MiB")


async def _count(objects: Objects, namespace: str, expected: int) -> bool:
    items, _ = await objects.list_all(INSTANCE, namespace=namespace)
    return len(items) == expected
