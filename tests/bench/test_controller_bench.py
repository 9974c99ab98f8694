"""Benchmarks of the controller on the testbed; they print figures and assert only that the path works.

- an Instance created -> its broker pod Running, as a watcher of the API server sees it (one at a
  time, ~30 of them): median and p95;
- 200 Instances created at once -> all their broker pods created (target <= 30 s), and Running;
- the controller's resident memory, idle and with 200 Instances (target <= 100 MiB, the limit of
  upstream's chart).

The Instances are written directly, with their nodes set, and the broker pod spec requests no Akri
resource: the figures are the controller's (and the scheduler's and node's), and admission does not
depend on device plugins. The controller runs on the runtime-only interpreter
(``AKRI_RUNTIME_PYTHON``, as ``make bench`` sets it), so its memory is what an image would use.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncGenerator

import pytest
from akri_testbed.cluster import Cluster

from akri_common.k8s.objects import CONFIGURATION, INSTANCE, POD, JsonObject, Objects, WatchEvent
from tests.bench.figures import latency_line, peak_rss_mib, rss_mib
from tests.support import kube
from tests.support.controller import start_controller
from tests.support.processes import ProcessGroup, wait_for

pytestmark = pytest.mark.bench
RUNTIME_PYTHON = os.environ.get("AKRI_RUNTIME_PYTHON", sys.executable)
SAMPLES = 30
MANY = 200  # 100 a node: within the testbed node's 110 pods
BROKER = {"containers": [{"name": "broker", "image": "busybox"}]}
EVENT_TIMEOUT = 30.0


@pytest.mark.timeout(600)  # 200 pods started and removed by the testbed's nodes take a while
async def test_controller_figures(testbed: Cluster, processes: ProcessGroup) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    nodes = [n.name for n in testbed.nodes]
    async with kube.api(testbed.kubeconfig) as objects:
        await kube.install_crds(objects)
        await kube.create_namespace(objects, namespace)
        try:
            controller = await start_controller(
                processes, testbed, env={"LOG_LEVEL": "warning"}, python=RUNTIME_PYTHON
            )
            body = kube.configuration("bench", namespace, "foo0")
            body["spec"]["brokerSpec"] = {"brokerPodSpec": BROKER}
            config = await objects.apply(CONFIGURATION, body, field_manager="bench", force=True)
            await asyncio.sleep(2)  # wait-ok: let the idle controller settle before measuring
            idle = rss_mib(controller.child.pid)
            print()
            await _one_at_a_time(objects, config, nodes)
            await _many_at_once(objects, config, nodes)
            pid = controller.child.pid
            print(
                f"controller RSS idle: {idle:.1f} MiB; with {MANY} Instances: {rss_mib(pid):.1f}"
                f" MiB (peak {peak_rss_mib(pid):.1f} MiB; target <= 100 MiB)"
            )
            assert controller.child.proc.returncode is None, controller.child.log()
        finally:
            await processes.stop_all()
            await kube.delete_namespace(objects, namespace, timeout=180)


async def _one_at_a_time(objects: Objects, config: JsonObject, nodes: list[str]) -> None:
    """Creates Instances one by one (alternating nodes) and times each to its Running broker."""
    namespace = config["metadata"]["namespace"]
    _, version = await objects.list_all(POD, namespace=namespace)
    events = objects.watch(POD, namespace=namespace, resource_version=version)
    samples: list[float] = []
    try:
        for i in range(SAMPLES):
            node = nodes[i % len(nodes)]
            name = f"bench-one-{i:03d}"
            pod = f"{node}-{name}-pod"
            start = time.perf_counter()
            await objects.create(INSTANCE, kube.instance(name, config, [node]))
            while not _running(await _next(events), pod):
                pass
            samples.append(time.perf_counter() - start)
    finally:
        await events.aclose()
    print(latency_line("Instance created -> broker pod Running (API watch)", samples))
    # Out of the way of the next figure (and of the nodes' pod capacity).
    for i in range(SAMPLES):
        await objects.delete(INSTANCE, namespace=namespace, name=f"bench-one-{i:03d}")

    async def pods_gone() -> bool:
        pods, _ = await objects.list_all(POD, namespace=namespace)
        return not pods

    await wait_for(pods_gone, timeout=60, what="the first brokers removed", interval=0.2)


async def _many_at_once(objects: Objects, config: JsonObject, nodes: list[str]) -> None:
    """Creates ``MANY`` Instances at once and times until every broker pod exists, then Running."""
    namespace = config["metadata"]["namespace"]
    _, version = await objects.list_all(POD, namespace=namespace)
    events = objects.watch(POD, namespace=namespace, resource_version=version)
    wanted = {}
    for i in range(MANY):
        node = nodes[i % len(nodes)]
        wanted[f"{node}-bench-many-{i:03d}-pod"] = (f"bench-many-{i:03d}", node)
    created: set[str] = set()
    running: set[str] = set()
    all_created = 0.0
    try:
        start = time.perf_counter()
        await asyncio.gather(
            *(
                objects.create(INSTANCE, kube.instance(name, config, [node]))
                for name, node in wanted.values()
            )
        )
        instances_written = time.perf_counter() - start
        while len(running) < MANY:
            event = await _next(events)
            pod = event.object.get("metadata", {}).get("name")
            if pod not in wanted or event.type == "DELETED":
                continue
            created.add(pod)
            if not all_created and len(created) == MANY:
                all_created = time.perf_counter() - start
            if _running(event, pod):
                running.add(pod)
        all_running = time.perf_counter() - start
    finally:
        await events.aclose()
    print(f"{MANY} Instances written in {instances_written:.1f} s (concurrently)")
    print(
        f"{MANY} Instances -> all broker pods created in {all_created:.1f} s (target <= 30 s);"
        f" all Running in {all_running:.1f} s"
    )


async def _next(events: AsyncGenerator[WatchEvent, None]) -> WatchEvent:
    return await asyncio.wait_for(anext(events), EVENT_TIMEOUT)


def _running(event: WatchEvent, pod: str) -> bool:
    obj = event.object
    return bool(
        event.type != "DELETED"
        and obj.get("metadata", {}).get("name") == pod
        and obj.get("status", {}).get("phase") == "Running"
        and not obj["metadata"].get("deletionTimestamp")
    )
