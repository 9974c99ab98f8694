"""What the demo shows: Instances, each node's Akri resources, broker pods and Services (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

JsonObject = Mapping[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """What the cluster holds at one moment."""

    instances: Sequence[JsonObject]
    nodes: Sequence[JsonObject]
    pods: Sequence[JsonObject]
    services: Sequence[JsonObject]
    broker_env: Mapping[str, str]  # pod name -> the DEBUG_ECHO_DESCRIPTION the node gave it

    def instance_nodes(self) -> dict[str, list[str]]:
        return {i["metadata"]["name"]: sorted(i["spec"].get("nodes") or []) for i in self.instances}

    def running_pods(self) -> dict[str, str]:
        """Running broker pods, by name, with their node."""
        return {
            p["metadata"]["name"]: p["spec"].get("nodeName", "")
            for p in self.pods
            if p.get("status", {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")
        }

    def service_names(self) -> list[str]:
        return sorted(s["metadata"]["name"] for s in self.services)


def render(snapshot: Snapshot, *, title: str, step: str) -> str:
    lines = [title, "=" * len(title), f"step: {step}", ""]
    lines.append("Instances (akrii)")
    if not snapshot.instances:
        lines.append("  (none)")
    for instance in sorted(snapshot.instances, key=lambda i: i["metadata"]["name"]):
        spec = instance["spec"]
        usage = spec.get("deviceUsage") or {}
        used = ", ".join(f"{slot.rsplit('-', 1)[-1]}:{who}" for slot, who in sorted(usage.items()))
        lines.append(
            f"  {instance['metadata']['name']:<26} nodes={','.join(spec.get('nodes') or []) or '-':<34}"
            f" slots used={len(usage)}/{spec.get('capacity')} {used}"
        )
    lines += ["", "Node resources (allocatable akri.sh/*)"]
    for node in sorted(snapshot.nodes, key=lambda n: n["metadata"]["name"]):
        allocatable = node.get("status", {}).get("allocatable", {})
        akri = {k: v for k, v in allocatable.items() if k.startswith("akri.sh/")}
        shown = "  ".join(f"{k.removeprefix('akri.sh/')}={v}" for k, v in sorted(akri.items()))
        lines.append(f"  {node['metadata']['name']:<16} {shown or '(none)'}")
    lines += ["", "Broker pods"]
    if not snapshot.pods:
        lines.append("  (none)")
    for pod in sorted(snapshot.pods, key=lambda p: p["metadata"]["name"]):
        name = pod["metadata"]["name"]
        phase = pod.get("status", {}).get("phase", "?")
        if pod["metadata"].get("deletionTimestamp"):
            phase = "Terminating"
        env = snapshot.broker_env.get(name)
        lines.append(
            f"  {name:<44} {pod['spec'].get('nodeName', '-'):<16} {phase:<12}"
            + (f" DEBUG_ECHO_DESCRIPTION={env}" if env else "")
        )
    lines += ["", "Services"]
    lines += [f"  {name}" for name in snapshot.service_names()] or ["  (none)"]
    return "\n".join(lines) + "\n"
