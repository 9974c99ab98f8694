"""The controller process: watched caches, four level-based reconcilers, the metrics server.

Reflectors keep one cache per kind (``reconcilers.caches``); each change is routed to the keys it
concerns: the Instance (broker pods and jobs, instance service), the Configuration (configuration
service) or the Node (departures). Reconcilers start once every cache holds a complete list, so a
first pass never mistakes "not listed yet" for "gone"; each returns when to look again, so the
world is re-checked periodically even without events. Stopping cancels the task group.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from akri_common import prometheus
from akri_common.k8s.client import connect
from akri_common.k8s.controller import Controller
from akri_common.k8s.objects import CONFIGURATION, INSTANCE, JOB, NODE, POD, SERVICE, Kind, Objects
from akri_common.k8s.reflector import Reflector
from akri_common.k8s.store import ObjectKey, Store
from akri_common.metrics import MetricsServer
from akri_controller.brokers import names
from akri_controller.departures import departure
from akri_controller.metrics import BrokerPodCollector
from akri_controller.reconcilers.brokers import BrokerReconciler
from akri_controller.reconcilers.caches import Caches, Routes
from akri_controller.reconcilers.nodes import NodeReconciler
from akri_controller.reconcilers.services import (
    ConfigurationServiceReconciler,
    InstanceServiceReconciler,
)
from akri_controller.settings import ControllerSettings

log = structlog.get_logger(__name__)

Key = ObjectKey


class Wiring:
    """The reconcilers and the routing of cache changes to their keys."""

    def __init__(self, objects: Objects, caches: Caches, settings: ControllerSettings) -> None:
        self.caches = caches
        self.brokers: Controller[Key] = Controller(
            "brokers",
            BrokerReconciler(objects, caches, pending_grace=settings.broker_pending_grace),
        )
        self.instance_services: Controller[Key] = Controller(
            "instance-services", InstanceServiceReconciler(objects, caches)
        )
        self.configuration_services: Controller[Key] = Controller(
            "configuration-services", ConfigurationServiceReconciler(objects, caches)
        )
        self.nodes: Controller[Key] = Controller("nodes", NodeReconciler(objects, caches))
        self._pod_routes = Routes(caches.pods)
        self._job_routes = Routes(caches.jobs)
        self._service_routes = Routes(caches.services)
        self._instance_configuration: dict[Key, Key] = {}

    def controllers(self) -> tuple[Controller[Key], ...]:
        return (self.brokers, self.instance_services, self.configuration_services, self.nodes)

    def instance_changed(self, key: Key) -> None:
        self.brokers.enqueue(key)
        self.instance_services.enqueue(key)
        obj = self.caches.instances.get(key)
        before = self._instance_configuration.pop(key, None)
        if obj is None:
            if before is not None:
                self.configuration_services.enqueue(before)
            return
        spec = obj.get("spec") or {}
        self._instance_configuration[key] = Key(key.namespace, str(spec.get("configurationName")))
        for node in spec.get("nodes") or ():
            if departure(self.caches.nodes.get(Key("", str(node)))) is not None:
                self.nodes.enqueue(Key("", str(node)))

    def configuration_changed(self, key: Key) -> None:
        self.configuration_services.enqueue(key)
        for instance in self.caches.instances_of(key):
            self.brokers.enqueue(instance)
            self.instance_services.enqueue(instance)

    def pod_changed(self, key: Key) -> None:
        for owners in self._pod_routes.owners(key):
            if owners.instance is not None:
                self.brokers.enqueue(owners.instance)
                self.instance_services.enqueue(owners.instance)
            if owners.configuration is not None:
                self.configuration_services.enqueue(owners.configuration)

    def job_changed(self, key: Key) -> None:
        for owners in self._job_routes.owners(key):
            if owners.instance is not None:
                self.brokers.enqueue(owners.instance)

    def service_changed(self, key: Key) -> None:
        for owners in self._service_routes.owners(key):
            if owners.instance is not None:
                self.instance_services.enqueue(owners.instance)
            elif owners.configuration is not None:
                self.configuration_services.enqueue(owners.configuration)

    def node_changed(self, key: Key) -> None:
        self.nodes.enqueue(key)

    def reflectors(self, objects: Objects) -> list[tuple[str, Reflector]]:
        def reflector(
            kind: Kind, store: Store, on_change: Callable[[Key], None], selector: str | None = None
        ) -> tuple[str, Reflector]:
            return (
                f"{kind.plural} reflector",
                Reflector(objects, kind, store, on_change=on_change, label_selector=selector),
            )

        c = self.caches
        return [
            reflector(INSTANCE, c.instances, self.instance_changed),
            reflector(CONFIGURATION, c.configurations, self.configuration_changed),
            reflector(POD, c.pods, self.pod_changed, names.INSTANCE_LABEL),
            reflector(JOB, c.jobs, self.job_changed, names.INSTANCE_LABEL),
            reflector(
                SERVICE,
                c.services,
                self.service_changed,
                f"{names.CONTROLLER_LABEL}={names.CONTROLLER_VALUE}",
            ),
            reflector(NODE, c.nodes, self.node_changed),
        ]


async def run_controller(settings: ControllerSettings, *, stop: asyncio.Event) -> None:
    """Runs the controller until ``stop`` is set."""
    api = await connect(settings.kubeconfig)
    async with api, contextlib.AsyncExitStack() as stack:
        objects = Objects(api)
        caches = Caches()
        wiring = Wiring(objects, caches, settings)
        collector = BrokerPodCollector(caches.pods)
        prometheus.REGISTRY.register(collector.collect)
        stack.callback(prometheus.REGISTRY.unregister, collector.collect)
        metrics = MetricsServer(
            port=settings.metrics_port, exposition=prometheus.exposition(), healthy=caches.synced
        )
        await metrics.start()
        stack.push_async_callback(metrics.stop)
        log.info("controller_started")

        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(reflector.run(), name=name)
                for name, reflector in wiring.reflectors(objects)
            ]
            tasks += [
                group.create_task(_when_synced(caches, controller), name=controller.name)
                for controller in wiring.controllers()
            ]
            await stop.wait()
            log.info("controller_stopping")
            for task in tasks:
                task.cancel()


async def _when_synced(caches: Caches, controller: Controller[Key]) -> None:
    """Starts reconciling once every cache is complete: "not listed yet" is not "gone"."""
    for store in caches.all():
        await store.synced.wait()
    await controller.run()
