"""Benchmark of the chart on the 2-node container testbed; prints figures, asserts only that the
path works.

- ``helm install`` (debugEcho discovery and configuration, our broker) → every Akri pod Ready,
  → the first Instance, → the first broker Running;
- ``helm upgrade`` adding ONVIF with a simulated camera → its Instance;
- each component's memory inside its container, from the container's own cgroup (working set:
  usage minus inactive file pages, as the kubelet counts it), against the chart's limits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from akri_testbed.cluster import Cluster, add_host

from tests.support.cgroups import working_set_mib
from tests.support.helm import CHART, helm_binary
from tests.support.kubectl import Kubectl, wait_until

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "akri-bench"

pytestmark = [pytest.mark.bench, pytest.mark.containers, pytest.mark.timeout(900)]


def _helm(cluster: Cluster, *args: str) -> None:
    result = subprocess.run(
        [str(helm_binary()), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"HOME": "/tmp", "PATH": os.environ["PATH"], "KUBECONFIG": str(cluster.kubeconfig)},
    )
    assert result.returncode == 0, result.stderr + result.stdout


def _limit_mib(container: dict[str, Any]) -> str:
    limit = container.get("resources", {}).get("limits", {}).get("memory", "")
    return limit or "none"


def memory_lines(cluster: Cluster, kubectl: Kubectl) -> list[str]:
    lines = []
    for pod in kubectl.items("pods", NAMESPACE):
        specs = {c["name"]: c for c in pod["spec"]["containers"]}
        for status in pod["status"].get("containerStatuses", []):
            cid = status.get("containerID", "").removeprefix("containerd://")
            if not cid:
                continue
            try:
                mib = working_set_mib(cluster, pod, cid)
            except OSError:
                continue
            lines.append(
                f"  {pod['metadata']['name']:<60} {mib:6.1f} MiB (limit {_limit_mib(specs[status['name']])})"
            )
    return sorted(lines)


@pytest.fixture
def camera(container_testbed: Cluster) -> Iterator[None]:
    path = add_host(container_testbed, "bcam", "10.200.0.101")
    process = subprocess.Popen(
        [
            "nsenter",
            f"--net={path}",
            "--",
            sys.executable,
            "-m",
            "tests.integration.onvif_support.camera",
            "--ip",
            "10.200.0.101",
            "--uuid",
            "0b3ec5b4-6f4e-4d8a-9c1e-1d2c3b4a5f61",
            "--mac",
            "02:00:00:00:01:01",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_install_upgrade_and_memory(container_testbed: Cluster, camera: None) -> None:
    kubectl = Kubectl.of(container_testbed)
    values = REPO / "examples" / "helm"
    started = time.monotonic()
    subprocess.Popen(  # helm install --wait returns when the workloads are Ready
        [
            str(helm_binary()),
            "install",
            "akri",
            str(CHART),
            "-n",
            NAMESPACE,
            "--create-namespace",
            "-f",
            str(values / "debug-echo.yaml"),
        ],
        env={
            "HOME": "/tmp",
            "PATH": os.environ["PATH"],
            "KUBECONFIG": str(container_testbed.kubeconfig),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ).wait(timeout=120)

    def first(kind: str, condition: Any) -> float:
        wait_until(condition, what=kind, timeout=300)
        return time.monotonic() - started

    instance_s = first("first Instance", lambda: kubectl.items("instances.akri.sh", NAMESPACE))
    broker_s = first(
        "first broker Running",
        lambda: any(
            p["metadata"].get("labels", {}).get("akri.sh/instance")
            and p["status"].get("phase") == "Running"
            for p in kubectl.items("pods", NAMESPACE)
        ),
    )
    ready_s = first(
        "every Akri pod Ready",
        lambda: (
            (pods := kubectl.items("pods", NAMESPACE, "app.kubernetes.io/part-of=akri"))
            and all(
                all(s.get("ready") for s in p["status"].get("containerStatuses", [{}]))
                for p in pods
            )
        ),
    )
    print(
        f"\nhelm install -> first Instance {instance_s:.1f} s, -> first broker Running "
        f"{broker_s:.1f} s, -> every Akri pod Ready {ready_s:.1f} s (images pulled on first use)"
    )
    upgrade = time.monotonic()
    _helm(
        container_testbed,
        "upgrade",
        "akri",
        str(CHART),
        "-n",
        NAMESPACE,
        "--reuse-values",
        "-f",
        str(values / "onvif.yaml"),
    )
    wait_until(
        lambda: any(
            i["spec"]["configurationName"] == "akri-onvif"
            for i in kubectl.items("instances.akri.sh", NAMESPACE)
        ),
        what="the camera's Instance",
        timeout=300,
    )
    print(f"helm upgrade adding ONVIF -> its first Instance: {time.monotonic() - upgrade:.1f} s")
    print("memory working set per container (cgroup), against the chart's limits:")
    for line in memory_lines(container_testbed, kubectl):
        print(line)
    _helm(container_testbed, "uninstall", "akri", "-n", NAMESPACE, "--wait")
    kubectl.run("delete", "namespace", NAMESPACE, "--wait=true", check=False)
    print(json.dumps({"install_to_ready_s": round(ready_s, 1)}))
