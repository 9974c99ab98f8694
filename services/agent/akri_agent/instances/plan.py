"""Deciding, from desired and current state, which Instances this node applies and which it releases.

Pure. Desired Instances come from discovery; current ones from the API server (the watched cache).
This node applies every desired Instance (server-side apply with its own field manager, so a shared
Instance's ``nodes`` becomes the union of every node's entry). It releases every current Instance of
the Configuration that lists this node but is no longer desired: it removes its own entry from
``nodes`` (a conditional JSON patch, so a vanished Instance is never recreated), and deletes the
Instance if no node is left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from akri_agent.discovery.desired import DesiredInstance
from akri_common.crds.instance import OwnerConfiguration
from akri_common.ids import InstanceName, NodeName

JsonObject = Mapping[str, Any]


@dataclass(frozen=True)
class Release:
    """Drop this node from an Instance's ``nodes``; ``last`` says no other node is left."""

    name: InstanceName
    namespace: str
    uid: str
    nodes: tuple[str, ...]
    node: NodeName

    @property
    def last(self) -> bool:
        return set(self.nodes) == {self.node}

    def patch(self) -> list[dict[str, Any]]:
        """A JSON patch that removes exactly this node's entry from that very Instance.

        Its ``test`` operations make it fail (422) if the Instance was replaced or its ``nodes``
        changed since it was read, instead of recreating or corrupting anything.
        """
        index = self.nodes.index(self.node)
        path = f"/spec/nodes/{index}"
        return [
            {"op": "test", "path": "/metadata/uid", "value": self.uid},
            {"op": "test", "path": path, "value": self.node},
            {"op": "remove", "path": path},
        ]


@dataclass(frozen=True)
class InstancePlan:
    apply: tuple[dict[str, Any], ...]
    release: tuple[Release, ...]


def plan_instances(
    *,
    desired: Iterable[DesiredInstance],
    current: Iterable[JsonObject],
    configuration: str,
    namespace: str,
    owner: OwnerConfiguration,
    node: NodeName,
) -> InstancePlan:
    wanted = {d.name: d for d in desired}
    apply = tuple(wanted[name].manifest(owner) for name in sorted(wanted))
    releases = []
    for obj in current:
        metadata = obj.get("metadata", {})
        spec = obj.get("spec", {})
        name = InstanceName(metadata.get("name", ""))
        if (
            metadata.get("namespace") != namespace
            or spec.get("configurationName") != configuration
            or name in wanted
            or node not in (spec.get("nodes") or [])
        ):
            continue
        releases.append(
            Release(
                name=name,
                namespace=namespace,
                uid=str(metadata.get("uid", "")),
                nodes=tuple(spec.get("nodes") or []),
                node=node,
            )
        )
    return InstancePlan(apply=apply, release=tuple(sorted(releases, key=lambda r: r.name)))
