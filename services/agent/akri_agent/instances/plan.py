"""Deciding, from desired and current state, which Instances this node applies, releases and deletes.

Pure. Desired Instances come from discovery; current ones from the API server (the watched cache).
This node applies every desired Instance whose cached copy does not already say what this node
would write (server-side apply with its own field manager, so a shared Instance's ``nodes`` becomes
the union of every node's entry); one that says it already costs no request.

Releases happen only when discovery is **listed** (every endpoint answered; see
``discovery.listing``): then every current Instance of the Configuration that lists this node but is
no longer desired is released: this node removes its own entry from ``nodes`` (a conditional JSON
patch, so a vanished Instance is never recreated), and deletes the Instance if no node is left.

An Instance of the Configuration that lists no node at all is an orphan: the node that emptied it
was interrupted between its patch and its delete (a ``deviceUsage`` write changed the
resourceVersion the delete was conditioned on, say). Any node deletes it, conditioned on the uid
and resourceVersion it saw, so that a node adding itself meanwhile wins. This holds whether or not
discovery is listed, and while the Configuration is being deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from akri_agent.discovery.desired import DesiredInstance
from akri_common.crds.instance import OwnerConfiguration
from akri_common.ids import InstanceName, NodeName

JsonObject = Mapping[str, Any]

# The spec fields a node writes for an Instance (``nodes`` is checked for this node's entry).
_WRITTEN = ("configurationName", "cdiName", "capacity", "brokerProperties", "shared")


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
class DeleteOrphan:
    """Delete an Instance that lists no node, if it is still that very version."""

    name: InstanceName
    namespace: str
    uid: str
    resource_version: str


@dataclass(frozen=True)
class InstancePlan:
    apply: tuple[dict[str, Any], ...]
    release: tuple[Release, ...]
    delete: tuple[DeleteOrphan, ...] = ()


def plan_instances(
    *,
    desired: Iterable[DesiredInstance],
    current: Iterable[JsonObject],
    configuration: str,
    namespace: str,
    owner: OwnerConfiguration,
    node: NodeName,
    listed: bool = True,
) -> InstancePlan:
    wanted = {d.name: d for d in desired}
    mine: dict[InstanceName, JsonObject] = {}
    releases = []
    orphans = []
    for obj in current:
        metadata = obj.get("metadata", {})
        spec = obj.get("spec", {})
        name = InstanceName(metadata.get("name", ""))
        if metadata.get("namespace") != namespace or spec.get("configurationName") != configuration:
            continue
        mine[name] = obj
        nodes = tuple(spec.get("nodes") or ())
        if not nodes and not metadata.get("deletionTimestamp"):
            orphans.append(
                DeleteOrphan(
                    name=name,
                    namespace=namespace,
                    uid=str(metadata.get("uid", "")),
                    resource_version=str(metadata.get("resourceVersion", "")),
                )
            )
        if not listed or name in wanted or node not in nodes:
            continue
        releases.append(
            Release(
                name=name,
                namespace=namespace,
                uid=str(metadata.get("uid", "")),
                nodes=nodes,
                node=node,
            )
        )
    apply = tuple(
        manifest
        for name in sorted(wanted)
        if needs_apply(manifest := wanted[name].manifest(owner), mine.get(name), node=node)
    )
    return InstancePlan(
        apply=apply,
        release=tuple(sorted(releases, key=lambda r: r.name)),
        delete=tuple(sorted(orphans, key=lambda d: d.name)),
    )


def needs_apply(manifest: JsonObject, current: JsonObject | None, *, node: NodeName) -> bool:
    """Whether applying ``manifest`` would change ``current`` (the cached Instance)."""
    if current is None or current.get("metadata", {}).get("deletionTimestamp"):
        return True
    spec = current.get("spec") or {}
    wanted = manifest["spec"]
    if any(spec.get(key) != wanted[key] for key in _WRITTEN):
        return True
    if node not in (spec.get("nodes") or ()):
        return True
    owners = current.get("metadata", {}).get("ownerReferences") or ()
    (owner,) = manifest["metadata"]["ownerReferences"]
    return not any(o.get("uid") == owner["uid"] and o.get("controller") for o in owners)
