"""The agent process: wiring the registration server, discovery, reconcilers and servers together.

Everything runs in one task group: the Configuration and Instance reflectors (watched caches), the
Configuration controller, the kubelet device plugins, the registration server, the metrics server. Discovery changes and
Instance changes enqueue the Configuration they belong to and reach the device plugins. Stopping
cancels the group, which stops the servers and unlinks their sockets.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from akri_agent.configurations.reconciler import ConfigurationReconciler
from akri_agent.configurations.secrets import api_lookup
from akri_agent.device_plugins import DevicePluginManager
from akri_agent.discovery.manager import ConfigurationKey, DiscoveryManager
from akri_agent.metrics import PrometheusObserver
from akri_agent.registration.server import RegistrationServer
from akri_agent.settings import AgentSettings
from akri_common.devices import Device
from akri_common.k8s.client import connect
from akri_common.k8s.controller import Controller
from akri_common.k8s.objects import CONFIGURATION, INSTANCE, Objects
from akri_common.k8s.reflector import Reflector
from akri_common.k8s.store import ObjectKey, Store
from akri_common.metrics import MetricsServer

log = structlog.get_logger(__name__)

# Failed reconciles (for example while the API server is away) are retried at least this often,
# so that the agent catches up within seconds of the API server coming back.
RETRY_CAP_SECONDS = 15.0


async def run_agent(settings: AgentSettings, *, stop: asyncio.Event) -> None:
    """Runs the agent until ``stop`` is set."""
    api = await connect(settings.kubeconfig)
    async with api, contextlib.AsyncExitStack() as stack:
        objects = Objects(api)
        configurations = Store()
        instances = Store()

        def discovery_changed(key: ConfigurationKey) -> None:
            controller.enqueue(ObjectKey(namespace=key.namespace, name=key.name))

        discovery = DiscoveryManager(
            node=settings.node_name,
            on_change=discovery_changed,
            lookup=api_lookup(objects),
            observer=PrometheusObserver(),
        )
        stack.push_async_callback(discovery.close)
        reconciler = ConfigurationReconciler(
            node=settings.node_name,
            objects=objects,
            configurations=configurations,
            instances=instances,
            discovery=discovery,
        )
        controller = Controller("configurations", reconciler, backoff_cap=RETRY_CAP_SECONDS)

        def lookup_device(namespace: str, name: str) -> Device | None:
            found = discovery.find_instance(namespace=namespace, name=name)
            return None if found is None else found.device

        plugins = DevicePluginManager(
            node=settings.node_name,
            objects=objects,
            instances=instances,
            lookup_device=lookup_device,
            device_plugins_directory=settings.device_plugins_directory,
            pod_resources_socket=settings.pod_resources_socket,
            env_policy=settings.env_policy,
        )

        def instance_changed(key: ObjectKey) -> None:
            plugins.instance_changed(key)
            obj = instances.get(key)
            configuration = (obj or {}).get("spec", {}).get("configurationName")
            if configuration:
                controller.enqueue(ObjectKey(namespace=key.namespace, name=configuration))
            elif obj is None:
                # Deleted: every Configuration of that namespace takes a look (cheap, rare).
                for config in configurations:
                    if config["metadata"].get("namespace") == key.namespace:
                        controller.enqueue(ObjectKey.of(config))

        registration = RegistrationServer(
            settings.discovery_handlers_directory, on_register=discovery.register
        )
        await stack.enter_async_context(registration)
        metrics = MetricsServer(
            port=settings.metrics_port,
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
