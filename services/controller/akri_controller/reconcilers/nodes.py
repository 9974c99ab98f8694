"""The node reconciler: a node that became NotReady or vanished is forgotten by every Instance.

For a node key it reads the Node from the cache; while it is Ready there is nothing to do. When it
has left (``departures``), every Instance that lists it or holds a slot for it is patched: the node
out of ``nodes``, its ``deviceUsage`` slots freed. Each patch names the resourceVersion it was
computed from; on a conflict the Instance is read again and the patch recomputed, up to
``ATTEMPTS`` times, after which the key is retried with back-off. Each departure is handled once
(remembered by its marker, which a restart forgets harmlessly: the patches are idempotent), so an
agent still alive on a NotReady node can list itself again without a write-for-write fight.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import structlog

from akri_common.ids import NodeName
from akri_common.k8s.errors import ConflictError, NotFoundError
from akri_common.k8s.objects import INSTANCE, JsonObject, Objects
from akri_common.k8s.store import ObjectKey
from akri_controller.departures import departure, forget_patch, mentions
from akri_controller.reconcilers.caches import Caches

log = structlog.get_logger(__name__)

ATTEMPTS = 5


@dataclass
class NodeReconciler:
    objects: Objects
    caches: Caches
    _handled: dict[str, str] = field(default_factory=dict)

    async def __call__(self, key: ObjectKey) -> float | None:
        node = NodeName(key.name)
        marker = departure(self.caches.nodes.get(key))
        if marker is None:
            self._handled.pop(node, None)
            return None
        if self._handled.get(node) == marker:
            return None
        for instance in self.caches.instances:
            if mentions(instance, node):
                await self._forget(instance, node)
        self._handled[node] = marker
        log.info("node_departed", node=node, how=marker)
        return None

    async def _forget(self, instance: JsonObject, node: NodeName) -> None:
        metadata = instance["metadata"]
        namespace, name = metadata["namespace"], metadata["name"]
        current: JsonObject = instance
        for attempt in range(1, ATTEMPTS + 1):
            patch = forget_patch(current, node)
            if patch is None:
                return
            try:
                await self.objects.merge_patch(INSTANCE, patch, namespace=namespace, name=name)
            except NotFoundError:
                return
            except ConflictError:
                if attempt == ATTEMPTS:
                    raise
                # Someone wrote first (an agent, most likely): read again and recompute.
                await _jitter()
                try:
                    current = await self.objects.get(INSTANCE, namespace=namespace, name=name)
                except NotFoundError:
                    return
                continue
            log.info("instance_node_removed", instance=f"{namespace}/{name}", node=node)
            return


async def _jitter() -> None:
    await asyncio.sleep(random.uniform(0, 0.2))  # noqa: S311 (spreading retries, not security)
