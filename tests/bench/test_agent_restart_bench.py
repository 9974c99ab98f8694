"""Benchmark: the agent restarted under running brokers, and the API cost of one ``Allocate``.

- agent ``kill -9`` and start -> steady state again (every plugin registered with kubelet, the same
  Instances): medians and p95, target <= 2 s; broker pods re-created on the way (target 0);
- API requests the agent sends for one ``Allocate`` (a pod admitted by kubelet), by kind;
- the agent's resident memory after the restarts.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest
from akri_testbed.cluster import Cluster

from akri_common.k8s.objects import CONFIGURATION, INSTANCE, POD, Objects
from tests.bench.figures import latency_line, rss_mib
from tests.support import agents, kube
from tests.support.agents import free_port
from tests.support.controller import start_controller
from tests.support.metrics import metric_sum, scrape
from tests.support.pods import create_pod, pod_body, running_pod
from tests.support.processes import Child, ProcessGroup, wait_for

pytestmark = pytest.mark.bench
RUNTIME_PYTHON = os.environ.get("AKRI_RUNTIME_PYTHON", sys.executable)
DEVICES = 10
RESTARTS = 10
ALLOCATIONS = 5
BROKER = {
    "containers": [
        {"name": "broker", "image": "busybox", "resources": {"limits": {"{{PLACEHOLDER}}": "1"}}}
    ]
}


def registered_resources(agent: Child) -> set[str]:
    found = set()
    for line in agent.log().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "plugin_registered":
            found.add(str(entry.get("resource")))
    return found


@pytest.mark.timeout(900)
async def test_agent_restart_figures(
    testbed: Cluster, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    node = testbed.nodes[0]
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    port = free_port()
    env = {"LOG_FORMAT": "json", "LOG_LEVEL": "info"}
    async with kube.api(testbed.kubeconfig) as objects:
        await kube.install_crds(objects)
        await kube.create_namespace(objects, namespace)
        scope = agents.Namespaced(objects, namespace)

        async def start() -> Child:
            return await agents.start_agent(
                processes, testbed, node, sockets_dir, metrics_port=port, env=env,
                name="agent", python=RUNTIME_PYTHON,
            )  # fmt: skip

        agent = await start()
        await agents.start_debug_echo(
            processes, sockets_dir, tmp_path / "availability.txt", shared=False,
            python=RUNTIME_PYTHON,
        )  # fmt: skip
        await start_controller(processes, testbed, python=RUNTIME_PYTHON)
        try:
            config = kube.configuration(
                "bench-restart", namespace, *[f"dev-{i}" for i in range(DEVICES)]
            )
            config["spec"].update(capacity=2, brokerSpec={"brokerPodSpec": BROKER})
            await objects.apply(CONFIGURATION, config, field_manager="bench", force=True)
            await wait_for(
                lambda: _brokers_running(objects, namespace, DEVICES),
                timeout=120, what=f"{DEVICES} brokers running", interval=0.2,
            )  # fmt: skip
            wanted = {f"akri.sh/{name}" for name in await _instances(objects, namespace)}
            wanted.add("akri.sh/bench-restart")
            instances = await _instances(objects, namespace)
            brokers = await _brokers(objects, namespace)

            samples: list[float] = []
            churned = 0
            for _ in range(RESTARTS):
                await processes.stop(agent, sig=signal.SIGKILL)
                agents.remove_dead_sockets(node.device_plugin_dir)
                started = time.perf_counter()
                agent = await start()
                await wait_for(
                    lambda agent=agent: wanted <= registered_resources(agent),  # type: ignore[misc]
                    timeout=30, what="every plugin registered again", interval=0.02,
                )  # fmt: skip
                samples.append(time.perf_counter() - started)
                assert await _instances(objects, namespace) == instances
                now = await _brokers(objects, namespace)
                churned += len(set(brokers.items()) - set(now.items()))
                brokers = now
            print()
            print(latency_line("agent kill -9 + start -> every plugin registered", samples))
            print(f"broker pods re-created over {RESTARTS} agent restarts: {churned}")

            per_allocate = await _allocations(objects, namespace, node.name, port)
            print(f"API requests per Allocate: {per_allocate}")
            print(f"agent RSS after {RESTARTS} restarts: {rss_mib(agent.pid):.1f} MiB")
        finally:
            await agents.delete_configurations(scope, timeout=120)


async def _allocations(objects: Objects, namespace: str, node: str, port: int) -> str:
    names = sorted(await _instances(objects, namespace))[:ALLOCATIONS]
    before = metric_sum(await scrape(port, "/metrics"), "akri_api_requests_total")
    secrets_before = _secret_reads(await scrape(port, "/metrics"))
    for index, name in enumerate(names):
        pod = f"user-{index}"
        await create_pod(objects, pod_body(pod, namespace, f"akri.sh/{name}", node=node))
        await running_pod(objects, namespace, pod)
    after = metric_sum(await scrape(port, "/metrics"), "akri_api_requests_total")
    secrets = _secret_reads(await scrape(port, "/metrics")) - secrets_before
    for index in range(len(names)):
        await objects.delete(POD, namespace=namespace, name=f"user-{index}")
    return f"{(after - before) / len(names):.2f} (Secret reads: {secrets:.0f})"


def _secret_reads(text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("akri_api_requests_total{") and 'resource="secrets"' in line
    )


async def _instances(objects: Objects, namespace: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    items, _ = await objects.list_all(INSTANCE, namespace=namespace)
    return {i["metadata"]["name"]: (i["metadata"]["uid"], tuple(i["spec"]["nodes"])) for i in items}


async def _brokers(objects: Objects, namespace: str) -> dict[str, str]:
    items, _ = await objects.list_all(POD, namespace=namespace, label_selector="akri.sh/instance")
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in items}


async def _brokers_running(objects: Objects, namespace: str, count: int) -> bool:
    items, _ = await objects.list_all(POD, namespace=namespace, label_selector="akri.sh/instance")
    return sum(1 for p in items if p.get("status", {}).get("phase") == "Running") == count
