"""What the demo shows: Instances, each node's Akri resources, Akri's own pods, broker pods with
the device seen inside their container, and Services (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

JsonObject = Mapping[str, Any]

# The broker property that names each handler's device, shown on the screen and in the checks.
DEVICE_PROPERTIES = ("DEBUG_ECHO_DESCRIPTION", "ONVIF_DEVICE_IP_ADDRESS", "GO_DEVICE_NAME")


def device_of(properties: Mapping[str, str]) -> str:
    """``KEY=value`` of the first device-naming property, or ``""``."""
    for key in DEVICE_PROPERTIES:
        if key in properties:
            return f"{key}={properties[key]}"
    return ""


def _phase(pod: JsonObject) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return str(pod.get("status", {}).get("phase", "?"))


@dataclass(frozen=True)
class Snapshot:
    """What the cluster holds at one moment."""

    instances: Sequence[JsonObject]
    nodes: Sequence[JsonObject]
    pods: Sequence[JsonObject]  # broker pods
    services: Sequence[JsonObject]
    broker_env: Mapping[str, str]  # broker pod name -> the device's KEY=value inside its container
    parts: Sequence[JsonObject] = field(default_factory=tuple)  # Akri's own pods

    def device_nodes(self) -> dict[str, list[str]]:
        """Each Instance's device (``KEY=value``) with the nodes that see it."""
        return {
            device_of(i["spec"].get("brokerProperties") or {}) or i["metadata"]["name"]: sorted(
                i["spec"].get("nodes") or []
            )
            for i in self.instances
        }

    def running_pods(self) -> dict[str, str]:
        """Running broker pods, by name, with their node."""
        return {
            p["metadata"]["name"]: p["spec"].get("nodeName", "")
            for p in self.pods
            if _phase(p) == "Running"
        }

    def brokers_with_device(self) -> list[str]:
        """Running broker pods whose container shows its device's env."""
        return [name for name in self.running_pods() if self.broker_env.get(name)]

    def running_parts(self) -> dict[str, list[str]]:
        """Akri's own Running pods, by component (``app.kubernetes.io/name``), with their nodes."""
        found: dict[str, list[str]] = {}
        for pod in self.parts:
            if _phase(pod) == "Running":
                name = pod["metadata"].get("labels", {}).get("app.kubernetes.io/name", "?")
                found.setdefault(name, []).append(pod["spec"].get("nodeName", ""))
        return {k: sorted(v) for k, v in found.items()}

    def service_names(self) -> list[str]:
        return sorted(s["metadata"]["name"] for s in self.services)


def render(snapshot: Snapshot, *, title: str, step: str) -> str:
    lines = [title, "=" * len(title), f"step: {step}", ""]
    lines.append("Akri pods")
    if not snapshot.parts:
        lines.append("  (none)")
    for pod in sorted(snapshot.parts, key=lambda p: p["metadata"]["name"]):
        lines.append(
            f"  {pod['metadata']['name']:<52} {pod['spec'].get('nodeName', '-'):<16} {_phase(pod)}"
        )
    lines += ["", "Instances (akrii)"]
    if not snapshot.instances:
        lines.append("  (none)")
    for instance in sorted(snapshot.instances, key=lambda i: i["metadata"]["name"]):
        spec = instance["spec"]
        usage = spec.get("deviceUsage") or {}
        used = ", ".join(
            f"{slot.rsplit('-', 1)[-1]}:{who}" for slot, who in sorted(usage.items()) if who
        )
        taken = sum(1 for who in usage.values() if who)
        lines.append(
            f"  {instance['metadata']['name']:<26} nodes={','.join(spec.get('nodes') or []) or '-':<34}"
            f" slots used={taken}/{spec.get('capacity')} {used}"
        )
        device = device_of(spec.get("brokerProperties") or {})
        if device:
            lines.append(f"    device {device}")
    lines += ["", "Node resources (allocatable akri.sh/*)"]
    for node in sorted(snapshot.nodes, key=lambda n: n["metadata"]["name"]):
        allocatable = node.get("status", {}).get("allocatable", {})
        akri = {k: v for k, v in allocatable.items() if k.startswith("akri.sh/")}
        shown = "  ".join(f"{k.removeprefix('akri.sh/')}={v}" for k, v in sorted(akri.items()))
        lines.append(f"  {node['metadata']['name']:<16} {shown or '(none)'}")
    lines += ["", "Broker pods (env inside the container)"]
    if not snapshot.pods:
        lines.append("  (none)")
    for pod in sorted(snapshot.pods, key=lambda p: p["metadata"]["name"]):
        name = pod["metadata"]["name"]
        env = snapshot.broker_env.get(name, "")
        lines.append(f"  {name:<44} {pod['spec'].get('nodeName', '-'):<16} {_phase(pod):<12} {env}")
    lines += ["", "Services"]
    lines += [
        f"  {s['metadata']['name']:<44} {s.get('spec', {}).get('clusterIP', '-')}"
        for s in sorted(snapshot.services, key=lambda s: s["metadata"]["name"])
    ] or ["  (none)"]
    return "\n".join(lines) + "\n"
