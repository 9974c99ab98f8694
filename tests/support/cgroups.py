"""Containers' memory as the kubelet counts it, read from their own cgroups on container nodes.

The working set is the memory cgroup's usage minus its inactive file pages (cgroup v1 on this
machine kind): what the kubelet compares with the memory limit and what decides an OOM kill.
``container_rows`` gives, per container of a namespace, its pod, component, working set (and its
anonymous part), limit,
restart count and last termination reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from akri_testbed.cluster import Cluster, container_node

MIB = 1024 * 1024


def cgroup_dir(cluster: Cluster, pod: dict[str, Any], container_id: str) -> Path:
    node = container_node(cluster, pod["spec"]["nodeName"])
    qos = pod["status"].get("qosClass", "BestEffort").lower()
    uid = pod["metadata"]["uid"]
    root = Path("/sys/fs/cgroup/memory") / node.cgroup_root.lstrip("/") / "kubepods"
    pod_dir = (root if qos == "guaranteed" else root / qos) / f"pod{uid}"
    return pod_dir / container_id


def working_set_mib(cluster: Cluster, pod: dict[str, Any], container_id: str) -> float:
    """The container's working set from its memory cgroup on its node."""
    cgroup = cgroup_dir(cluster, pod, container_id)
    usage = int((cgroup / "memory.usage_in_bytes").read_text())
    stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
    return (usage - int(stat.get("total_inactive_file", 0))) / MIB


def anonymous_mib(cluster: Cluster, pod: dict[str, Any], container_id: str) -> float:
    """The container's anonymous memory (``total_rss`` of its memory cgroup): the part of the
    working set the kernel cannot reclaim by dropping file pages."""
    cgroup = cgroup_dir(cluster, pod, container_id)
    stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
    return int(stat.get("total_rss", 0)) / MIB


def oom_kills(cluster: Cluster, pod: dict[str, Any], container_id: str) -> int:
    """How often the kernel's OOM killer acted in the container's cgroup (``oom_kill`` of
    ``memory.oom_control``); 0 when the kernel does not say."""
    control = (cgroup_dir(cluster, pod, container_id) / "memory.oom_control").read_text()
    fields = dict(line.split() for line in control.splitlines())
    return int(fields.get("oom_kill", 0))


@dataclass(frozen=True)
class ContainerRow:
    pod: str
    component: str
    node: str
    container_id: str
    working_set_mib: float | None  # None when its cgroup could not be read (it just restarted)
    anon_mib: float | None  # its anonymous part (likewise)
    limit: str
    restarts: int
    last_terminated: str  # the reason of its last termination, "" if none
    ready: bool


def container_rows(cluster: Cluster, pods: list[dict[str, Any]]) -> list[ContainerRow]:
    rows = []
    for pod in pods:
        specs = {c["name"]: c for c in pod["spec"]["containers"]}
        labels = pod["metadata"].get("labels", {})
        for status in pod["status"].get("containerStatuses", []):
            cid = status.get("containerID", "").removeprefix("containerd://")
            mib: float | None = None
            anon: float | None = None
            if cid:
                try:
                    mib = working_set_mib(cluster, pod, cid)
                    anon = anonymous_mib(cluster, pod, cid)
                except OSError:
                    mib = anon = None
            limits = specs[status["name"]].get("resources", {}).get("limits", {})
            terminated = status.get("lastState", {}).get("terminated", {})
            rows.append(
                ContainerRow(
                    pod=pod["metadata"]["name"],
                    component=labels.get("app.kubernetes.io/name", status["name"]),
                    node=pod["spec"].get("nodeName", ""),
                    container_id=cid,
                    working_set_mib=mib,
                    anon_mib=anon,
                    limit=limits.get("memory", "none"),
                    restarts=int(status.get("restartCount", 0)),
                    last_terminated=str(terminated.get("reason", "")),
                    ready=bool(status.get("ready")),
                )
            )
    return rows
