"""This node's finalizer ``<node>`` on Configurations and Instances, written as upstream's agent does.

Upstream's agent adds its finalizer by a server-side apply of ``metadata.finalizers: [<node>]``
with field manager ``<node>-fin`` (``spec/akri-compat.md`` §4.2, §4.4). ``finalizers`` is a set, so
every node (Akri-py or upstream) owns exactly its own entry and no writer can drop another's. The
apply names the object's ``uid``: the API server refuses it (409) when the object was replaced, and
a partial apply of an object that is gone fails validation or the uid check instead of creating
one. Removal is a JSON patch that tests the entry it removes (so it also removes an entry some
older writer owns) under the same field manager.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from akri_common.ids import NodeName
from akri_common.k8s.errors import NotFoundError
from akri_common.k8s.objects import Kind, Objects


def finalizer_manager(node: NodeName) -> str:
    return f"{node}-fin"


def has_finalizer(obj: Mapping[str, Any], node: NodeName) -> bool:
    return node in ((obj.get("metadata") or {}).get("finalizers") or ())


def add_body(kind: Kind, obj: Mapping[str, Any], node: NodeName) -> dict[str, Any]:
    """The partial object whose apply gives ``obj`` this node's finalizer."""
    metadata = obj["metadata"]
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {
            "name": metadata["name"],
            "namespace": metadata.get("namespace"),
            "uid": metadata["uid"],
            "finalizers": [node],
        },
    }


def remove_patch(obj: Mapping[str, Any], node: NodeName) -> list[dict[str, Any]]:
    """A JSON patch that removes exactly this node's finalizer from that very object."""
    metadata = obj["metadata"]
    index = list(metadata.get("finalizers") or ()).index(node)
    path = f"/metadata/finalizers/{index}"
    return [
        {"op": "test", "path": "/metadata/uid", "value": metadata["uid"]},
        {"op": "test", "path": path, "value": node},
        {"op": "remove", "path": path},
    ]


async def set_finalizer(
    objects: Objects, kind: Kind, obj: Mapping[str, Any], node: NodeName, *, present: bool
) -> bool:
    """Adds or removes this node's finalizer on ``obj`` (as read); returns whether it wrote.

    Raises ``NotFoundError`` when the object is gone, ``ConflictError``/``InvalidError`` when it
    changed meanwhile (the watch brings the new version and another pass).
    """
    if has_finalizer(obj, node) == present:
        return False
    metadata = obj["metadata"]
    if present:
        if metadata.get("deletionTimestamp"):
            return False  # a finalizer cannot be added to an object being deleted
        await objects.apply(kind, add_body(kind, obj, node), field_manager=finalizer_manager(node))
        return True
    try:
        await objects.json_patch(
            kind,
            remove_patch(obj, node),
            namespace=metadata.get("namespace"),
            name=metadata["name"],
            field_manager=finalizer_manager(node),
        )
    except NotFoundError:
        return False
    return True
