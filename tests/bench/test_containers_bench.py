"""Benchmarks of the container testbed and our images; they print figures and assert only that the
path works.

(our images' sizes and build times: ``test_images_bench.py``)
- the container nodes' pieces: build times from ``testbed/build.sh``'s records;
- a 2-node container testbed: start-up until both nodes are Ready (target <= 15 s warm), pod
  create -> Running with a local image (median and p95), and each node's memory (kubelet,
  containerd, kube-proxy and the pod shims, RSS).
"""

from __future__ import annotations

import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from akri_testbed import containernode, netns
from akri_testbed.binaries import build_records
from akri_testbed.cluster import Cluster, container_node, start_cluster, stop_cluster

from tests.bench.figures import latency_line, rss_mib
from tests.support.images import ImageRefs
from tests.support.kubectl import Kubectl, pod, running

pytestmark = pytest.mark.bench
START_TARGET_S = 15.0
POD_RUNS = 10
NODE_PIECES = ("kubelet", "containerd", "crane", "pause")


def test_node_pieces_build_times() -> None:
    records = build_records()
    print()
    for component in NODE_PIECES:
        record: Any = records.get(component)
        if record is None:
            print(f"build {component}: no record")
            continue
        state = "cold build cache" if record["build_cache_was_empty"] else "build cache warm"
        print(
            f"build {component} {record['version']}: {float(record['total_seconds']):.1f} s ({state})"
        )


def _node_memory(cluster: Cluster, node: str) -> dict[str, float]:
    """RSS of the node's own processes (kubelet, containerd, kube-proxy) and of the pod shims and
    anything else in the node's network namespace."""
    own = {
        p.pid: p.name.split("/", 1)[1] for p in cluster.processes if p.name.startswith(f"{node}/")
    }
    inode = netns.inode(container_node(cluster, node).netns)
    figures: dict[str, float] = {}
    for pid in containernode.namespace_pids({inode} if inode else set(), ("net",)):
        role = own.get(pid, "shims and host-network pods")
        if role == "nodeinit":
            continue
        try:
            figures[role] = figures.get(role, 0.0) + rss_mib(pid)
        except (OSError, RuntimeError):
            continue
    return figures


def test_container_testbed_start_pods_and_memory(
    container_testbed_images: dict[str, Path], images: ImageRefs
) -> None:
    directory = Path("/tmp/akri-ctb-bench")
    started = time.monotonic()
    cluster = start_cluster(
        directory, nodes=2, containers=True, images=container_testbed_images, die_with_parent=True
    )
    try:
        up = time.monotonic() - started
        verdict = "met" if up <= START_TARGET_S else "MISSED"
        ready = ", ".join(f"{k} {v:.1f}s" for k, v in cluster.startup_seconds.items())
        print(
            f"\ncontainer testbed up, 2 nodes Ready (images pushed): {up:.1f} s"
            f" (target <= {START_TARGET_S:.0f} s: {verdict}); {ready}"
        )
        kubectl = Kubectl.of(cluster)
        samples = []
        for run in range(POD_RUNS):
            name = f"p-{run}-{uuid.uuid4().hex[:4]}"
            node = cluster.nodes[run % 2].name
            begin = time.monotonic()
            kubectl.apply(pod(name, images.debug_echo_broker, node=node))
            running(kubectl, name)
            samples.append(time.monotonic() - begin)
        print(
            latency_line(
                "pod create -> Running (local registry image, first pull included once per node)",
                samples,
            )
        )
        print(
            f"pod create -> Running median without the first pulls: {statistics.median(samples[2:]) * 1000:.0f} ms"
        )
        for info in cluster.nodes:
            figures = _node_memory(cluster, info.name)
            detail = ", ".join(f"{k} {v:.0f}" for k, v in sorted(figures.items()))
            print(f"{info.name} memory (RSS, MiB): total {sum(figures.values()):.0f} ({detail})")
    finally:
        stop_cluster(directory)
