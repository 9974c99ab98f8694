"""Nodes that left: when a node counts as gone, and the Instance patch that forgets it. Pure.

A node has left when its Node object is gone, or its ``Ready`` condition (the last one listed) is
not ``True``. Each departure is identified by a marker (the Ready condition's lastTransitionTime, or
"deleted"), so that it is handled once per departure: an agent that is still alive on a NotReady
node may list the node again, and the controller must not fight it write for write.

Forgetting a node takes it out of ``spec.nodes``, frees every ``deviceUsage`` slot it holds,
whether used through the instance plugin (``"<node>"``) or the configuration plugin
(``"C:<vdev>:<node>"``; the format is read by ``akri_common.crds.usage``, as the agent reads it),
and removes the node's finalizer ``<node>`` that its agent put on the Instance, so that an Instance
deleted while the node is gone for good is not held forever. The patch is a merge patch that names the resourceVersion it was computed
from, so it fails (409) rather than overwrite a change made meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from akri_common.crds.usage import usage_node
from akri_common.ids import NodeName

DELETED = "deleted"


def is_ready(node: Mapping[str, Any]) -> bool:
    """True when the Node's last ``Ready`` condition has status ``True``."""
    ready = [
        c for c in (node.get("status") or {}).get("conditions") or () if c.get("type") == "Ready"
    ]
    return bool(ready) and ready[-1].get("status") == "True"


def departure(node: Mapping[str, Any] | None) -> str | None:
    """None while the node is Ready; else a marker naming this departure."""
    if node is None:
        return DELETED
    if is_ready(node):
        return None
    ready = [
        c for c in (node.get("status") or {}).get("conditions") or () if c.get("type") == "Ready"
    ]
    since = ready[-1].get("lastTransitionTime") if ready else None
    return f"not-ready:{since or 'never'}"


def mentions(instance: Mapping[str, Any], node: NodeName) -> bool:
    spec = instance.get("spec") or {}
    if node in (spec.get("nodes") or ()):
        return True
    if node in ((instance.get("metadata") or {}).get("finalizers") or ()):
        return True
    return any(usage_node(str(v)) == node for v in (spec.get("deviceUsage") or {}).values())


def forget_patch(instance: Mapping[str, Any], node: NodeName) -> dict[str, Any] | None:
    """The merge patch that removes ``node`` from ``instance``; None when it is not mentioned."""
    if not mentions(instance, node):
        return None
    metadata = instance.get("metadata") or {}
    spec = instance.get("spec") or {}
    patch_spec: dict[str, Any] = {}
    nodes = list(spec.get("nodes") or ())
    if node in nodes:
        patch_spec["nodes"] = [n for n in nodes if n != node]
    freed = {
        slot: ""
        for slot, usage in (spec.get("deviceUsage") or {}).items()
        if usage_node(str(usage)) == node
    }
    if freed:
        patch_spec["deviceUsage"] = freed
    patch_metadata: dict[str, Any] = {"resourceVersion": metadata.get("resourceVersion")}
    finalizers = list(metadata.get("finalizers") or ())
    if node in finalizers:
        patch_metadata["finalizers"] = [f for f in finalizers if f != node]
    patch: dict[str, Any] = {"metadata": patch_metadata}
    if patch_spec:
        patch["spec"] = patch_spec
    return patch
