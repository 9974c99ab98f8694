"""Watch mode: the Services and Instances of the cluster, followed by watch, turned into tiles.

Two reflectors (list, then watch, resuming and re-listing as ``akri_common.k8s.reflector`` does)
keep the Services the controller made (``controller=akri.sh``) and the Instances, in one namespace
or all of them; every change marks the view dirty and one task recomputes the wanted tiles
(``sources.cluster_sources``) and applies them to the feeds. Nothing is polled.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from akri_common.k8s.objects import INSTANCE, SERVICE, Objects
from akri_common.k8s.reflector import Reflector
from akri_common.k8s.store import ObjectKey, Store
from akri_streaming.feeds import Feeds
from akri_streaming.sources import SERVICE_SELECTOR, cluster_sources

log = structlog.get_logger(__name__)


class ClusterView:
    def __init__(
        self, objects: Objects, feeds: Feeds, *, configuration: str, namespace: str | None
    ) -> None:
        self._feeds = feeds
        self._configuration = configuration
        self.services = Store()
        self.instances = Store()
        self._dirty = asyncio.Event()
        self._reflectors = [
            Reflector(
                objects,
                SERVICE,
                self.services,
                on_change=self._changed,
                namespace=namespace,
                label_selector=SERVICE_SELECTOR,
            ),
            Reflector(
                objects, INSTANCE, self.instances, on_change=self._changed, namespace=namespace
            ),
        ]

    @property
    def synced(self) -> bool:
        return self.services.synced.is_set() and self.instances.synced.is_set()

    def _changed(self, _: ObjectKey) -> None:
        self._dirty.set()

    async def run(self) -> None:
        """Runs until cancelled."""
        tasks = [asyncio.create_task(r.run(), name="streaming-reflector") for r in self._reflectors]
        try:
            # An Instance's Service is shown only with its Instance: nothing before both lists.
            await self.services.synced.wait()
            await self.instances.synced.wait()
            log.info("cluster_synced", services=len(self.services), instances=len(self.instances))
            self._dirty.set()
            while True:
                await self._dirty.wait()
                self._dirty.clear()
                wanted = cluster_sources(
                    self.services, self.instances, configuration=self._configuration
                )
                await self._feeds.apply(wanted)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
