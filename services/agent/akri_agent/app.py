"""The agent process: wiring the registration server, discovery, reconcilers and servers together.

One direction for a device: handler → discovery (per endpoint: not yet listed / listed / failed) →
the Configuration reconciler (the node's desired Instances, the Instance writer) → the device
registry → the device plugins, which are notified by the registry and never call back into
discovery. Everything runs in one task group: the Configuration and Instance reflectors (watched
caches), the Configuration controller, the kubelet device plugins, the registration server, the
metrics server. An Instance change reaches the Configuration reconcile only when it can change its
outcome (``instances.changes``); every Instance change reaches the plugins. Stopping cancels the
group, which stops the servers and unlinks their sockets.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from akri_agent.configurations.reconciler import ConfigurationReconciler
from akri_agent.configurations.secrets import api_lookup
from akri_agent.device_plugins import DevicePluginManager
from akri_agent.discovery.manager import ConfigurationKey, DiscoveryManager, DiscoveryTimings
from akri_agent.instances.changes import View, concerns_configuration, configuration_view
from akri_agent.instances.registry import DeviceRegistry
from akri_agent.metrics import PrometheusObserver
from akri_agent.registration.server import RegistrationServer
from akri_agent.settings import AgentSettings
from akri_common import prometheus
from akri_common.k8s.client import connect
from akri_common.k8s.controller import Controller
from akri_common.k8s.objects import CONFIGURATION, INSTANCE, Objects
from akri_common.k8s.reflector import Reflector
from akri_common.k8s.store import ObjectKey, Store
from akri_common.metrics import MetricsServer

log = structlog.get_logger(__name__)

# Configurations reconciled at once (never the same one twice).
WORKERS = 4


async def run_agent(settings: AgentSettings, *, stop: asyncio.Event) -> None:
    """Runs the agent until ``stop`` is set."""
    timings = settings.timings
    api = await connect(settings.kubeconfig)
    async with api, contextlib.AsyncExitStack() as stack:
        objects = Objects(api)
        configurations = Store()
        instances = Store()
        devices = DeviceRegistry()

        def discovery_changed(key: ConfigurationKey) -> None:
            controller.enqueue(ObjectKey(namespace=key.namespace, name=key.name))

        discovery = DiscoveryManager(
            node=settings.node_name,
            on_change=discovery_changed,
            lookup=api_lookup(objects),
            observer=PrometheusObserver(),
            timings=DiscoveryTimings(
                registration_grace=timings.registration_grace,
                first_list_grace=timings.first_list_grace,
                first_list_warning=timings.first_list_warning,
                resolve_every=timings.resync,
            ),
        )
        stack.push_async_callback(discovery.close)
        reconciler = ConfigurationReconciler(
            node=settings.node_name,
            objects=objects,
            configurations=configurations,
            instances=instances,
            discovery=discovery,
            devices=devices,
            resync=timings.resync,
            property_retry=timings.property_retry,
        )
        controller = Controller(
            "configurations", reconciler, backoff_cap=timings.retry_cap, workers=WORKERS
        )
        plugins = DevicePluginManager(
            node=settings.node_name,
            objects=objects,
            instances=instances,
            devices=devices,
            device_plugins_directory=settings.device_plugins_directory,
            pod_resources_socket=settings.pod_resources_socket,
            env_policy=settings.env_policy,
            reclaim_interval=timings.reclaim_interval,
            reclaim_grace=timings.reclaim_grace,
            reregister_deadline=timings.reregister_deadline,
            resync=timings.resync,
            retry_cap=timings.retry_cap,
        )
        views: dict[ObjectKey, View] = {}

        def instance_changed(key: ObjectKey) -> None:
            plugins.instance_changed(key)
            obj = instances.get(key)
            before, after = views.get(key), configuration_view(obj)
            if after is None:
                views.pop(key, None)
            else:
                views[key] = after
            if not concerns_configuration(before, after):
                return
            for view in (before, after):
                if view is not None and view.configuration:
                    controller.enqueue(ObjectKey(namespace=key.namespace, name=view.configuration))

        registration = RegistrationServer(
            settings.discovery_handlers_directory, on_register=discovery.register
        )
        await stack.enter_async_context(registration)
        metrics = MetricsServer(
            port=settings.metrics_port,
            exposition=prometheus.exposition(),
            healthy=lambda: configurations.synced.is_set() and instances.synced.is_set(),
        )
        await metrics.start()
        stack.push_async_callback(metrics.stop)
        log.info("agent_started", node=settings.node_name)

        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(
                    Reflector(objects, INSTANCE, instances, on_change=instance_changed).run(),
                    name="instance reflector",
                ),
                group.create_task(_when_synced(instances, controller), name="controller"),
                group.create_task(plugins.run(), name="device plugins"),
                group.create_task(
                    Reflector(
                        objects, CONFIGURATION, configurations, on_change=controller.enqueue
                    ).run(),
                    name="configuration reflector",
                ),
            ]
            await stop.wait()
            log.info("agent_stopping", node=settings.node_name)
            for task in tasks:
                task.cancel()


async def _when_synced(instances: Store, controller: Controller[ObjectKey]) -> None:
    """Starts reconciling once the Instance cache is complete (releases depend on it)."""
    await instances.synced.wait()
    await controller.run()
