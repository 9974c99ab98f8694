"""OPC UA end to end on the testbed: a server both nodes reach becomes one shared Instance, pods
on both nodes get it, and the sample broker, run with each pod's environment, reads a value the
test changes on the server.

The OPC UA servers (an LDS and a PLC registered with it) run on loopback in a child process; each
testbed node has its own agent and its own OPC UA handler (both real processes, registering over
Unix sockets). The broker is started as a process with exactly the environment the node's device
plugin returned from ``Allocate`` for the pod (recorded by the testbed node).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from akri_testbed.cluster import Cluster

from akri_common.crds.naming import device_hash
from akri_common.ids import DeviceId, NodeName
from akri_common.k8s.objects import CONFIGURATION, POD, Objects
from tests.integration.opcua_support.fixtures import lds, opcua_lab, server
from tests.integration.opcua_support.lab import OpcuaLab
from tests.support import kube
from tests.support.agents import delete_configurations, start_agent, wait_instances
from tests.support.opcua_broker import get_value, start_broker
from tests.support.pods import create_pod, pod_body, run_options, running_pod
from tests.support.processes import Child, ProcessGroup, wait_for

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")

CONFIG = "akri-opcua"
LDS = lds()
PLC = server(
    "plc", application_name="Line 1 PLC", registered_with=LDS, variable="Pressure", value=7
)


@dataclass
class Setup:
    objects: Objects
    namespace: str
    lab: OpcuaLab
    agents: list[Child]
    handlers: list[Child]

    async def instances(self) -> dict[str, dict[str, Any]]:
        return await kube.instances(self.objects, self.namespace)

    def logs(self) -> str:
        parts = [f"{c.name}:\n{c.log()[-3000:]}" for c in [*self.agents, *self.handlers]]
        return "\n".join(parts)


@pytest.fixture
async def setup(testbed: Cluster, processes: ProcessGroup, tmp_path: Path) -> AsyncIterator[Setup]:
    assert len(testbed.nodes) >= 2, "the testbed needs two nodes"
    async with kube.api(testbed.kubeconfig) as objects:
        await kube.install_crds(objects)
        namespace = f"t-{uuid.uuid4().hex[:8]}"
        await kube.create_namespace(objects, namespace)
        async with opcua_lab([LDS, PLC], tmp_path) as lab:
            agents, handlers = [], []
            for node in testbed.nodes[:2]:
                directory = processes.scratch_dir()
                agents.append(await start_agent(processes, testbed, node, directory))
                handler = await processes.start(
                    "akri_opcua",
                    env={
                        "DISCOVERY_HANDLERS_DIRECTORY": str(directory),
                        "LOG_FORMAT": "json",
                    },
                    name=f"opcua-{node.name}",
                )
                await wait_for(
                    (directory / "opcua.sock").exists, timeout=20, what="opcua handler socket"
                )
                handlers.append(handler)
            setup = Setup(objects, namespace, lab, agents, handlers)
            try:
                yield setup
            finally:
                pods, _ = await objects.list_all(POD, namespace=namespace)
                for pod in pods:
                    await objects.delete(POD, namespace=namespace, name=pod["metadata"]["name"])
                await delete_configurations(setup)
                await processes.stop_all()
        await kube.delete_namespace(objects, namespace)


async def test_a_shared_server_instance_on_two_nodes_and_brokers_read_its_value(
    setup: Setup, testbed: Cluster, processes: ProcessGroup
) -> None:
    objects = setup.objects
    nodes = sorted(node.name for node in testbed.nodes[:2])
    details = {"opcuaDiscoveryMethod": {"standard": {"discoveryUrls": [LDS.url]}}}
    await objects.apply(
        CONFIGURATION,
        {
            "apiVersion": "akri.sh/v0",
            "kind": "Configuration",
            "metadata": {"name": CONFIG, "namespace": setup.namespace},
            "spec": {
                "discoveryHandler": {"name": "opcua", "discoveryDetails": yaml.safe_dump(details)},
                "capacity": 2,  # one slot per node: capacity counts across nodes
                "brokerProperties": {"IDENTIFIER": "Pressure", "NAMESPACE_INDEX": "2"},
            },
        },
        field_manager="akri-tests",
        force=True,
    )
    digest = device_hash(DeviceId(PLC.url), shared=True, node=NodeName(nodes[0]))
    instance = f"{CONFIG}-{digest}"
    await wait_instances(setup, {instance: nodes}, timeout=20, details=setup.logs)
    spec = (await setup.instances())[instance]["spec"]
    assert spec["shared"] is True
    assert spec["brokerProperties"]["OPCUA_DISCOVERY_URL"] == PLC.url
    assert spec["brokerProperties"]["OPCUA_APPLICATION_NAME"] == "Line 1 PLC"
    assert spec["brokerProperties"]["IDENTIFIER"] == "Pressure"

    # A pod on each node gets the Instance; its broker runs with what Allocate gave the pod.
    ports = []
    for index, node in enumerate(testbed.nodes[:2]):
        name = f"opcua-broker-{index}"
        body = pod_body(name, setup.namespace, f"akri.sh/{instance}", node=node.name)
        await create_pod(objects, body)
        pod = await running_pod(objects, setup.namespace, name)
        (container,) = run_options(node.run_options_dir, pod)["containers"]
        env = container["env"]
        assert env["OPCUA_DISCOVERY_URL"] == PLC.url
        assert env[f"OPCUA_DISCOVERY_URL_{digest.upper()}"] == PLC.url
        _, port = await start_broker(processes, env, name=f"broker-{node.name}")
        ports.append(port)

    async def every_broker_reads(value: int) -> bool:
        return all([await get_value(port) == (value, PLC.url) for port in ports])

    await wait_for(lambda: every_broker_reads(7), timeout=20, what="brokers read 7", interval=0.1)
    await setup.lab.set("plc", 1234)
    await wait_for(
        lambda: every_broker_reads(1234), timeout=5, what="brokers read 1234", interval=0.05
    )
