"""The agent on Kubernetes: Configurations in, Instances out, against the testbed's real API server.

Two agents (one per testbed node) and a debugEcho handler per node run as real processes; the test
writes Configurations and reads Instances through the API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from akri_testbed.cluster import Cluster, restart_node
from prometheus_client.parser import text_string_to_metric_families

from akri_common.crds.naming import device_hash
from akri_common.ids import DeviceId, NodeName
from akri_common.k8s.errors import NotFoundError
from akri_common.k8s.objects import CONFIGURATION, POD, SECRET, Objects
from tests.support import kube
from tests.support.agents import (
    NodeAgent,
    delete_configurations,
    start_node_agents,
    wait_instances,
)
from tests.support.kube import objects
from tests.support.metrics import scrape
from tests.support.pods import (
    create_pod,
    kubelet_allocatable,
    node_resources,
    pod_body,
    pod_in_phase,
    run_options,
    running_pod,
)
from tests.support.processes import ProcessGroup, wait_for

__all__ = ["objects"]

NAMES = {"akri-debug-echo-8120fe", "akri-debug-echo-a19705"}


@dataclass
class Setup:
    objects: Objects
    namespace: str
    nodes: list[NodeAgent]

    async def instances(self) -> dict[str, dict[str, Any]]:
        return await kube.instances(self.objects, self.namespace)


@pytest.fixture
async def namespace(objects: Objects) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, name)
    return name


@pytest.fixture
async def shared_setup(
    testbed: Cluster, objects: Objects, namespace: str, processes: ProcessGroup, tmp_path: Path
) -> AsyncIterator[Setup]:
    nodes = await start_node_agents(testbed, processes, tmp_path, shared=True)
    setup = Setup(objects=objects, namespace=namespace, nodes=nodes)
    yield setup
    await delete_configurations(setup)


async def apply_configuration(setup: Setup, name: str, *descriptions: str, **spec: Any) -> None:
    body = kube.configuration(name, setup.namespace, *descriptions)
    body["spec"].update(spec)
    await setup.objects.apply(
        CONFIGURATION,
        body,
        field_manager="akri-tests",
        force=True,
    )


async def test_shared_devices_are_one_instance_listing_both_nodes(shared_setup: Setup) -> None:
    setup = shared_setup
    both = sorted(n.name for n in setup.nodes)
    await apply_configuration(setup, "akri-debug-echo", "foo0", "foo1", capacity=2)
    await wait_instances(setup, {name: both for name in NAMES})

    instance = (await setup.instances())["akri-debug-echo-8120fe"]
    assert instance["spec"]["cdiName"] == "akri.sh/akri-debug-echo=8120fe"
    assert instance["spec"]["capacity"] == 2
    assert instance["spec"]["shared"] is True
    assert instance["spec"]["brokerProperties"] == {"DEBUG_ECHO_DESCRIPTION": "foo0"}
    (owner,) = instance["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == (
        "Configuration",
        "akri-debug-echo",
        True,
    )
    config = await setup.objects.get(
        CONFIGURATION, namespace=setup.namespace, name="akri-debug-echo"
    )
    assert sorted(config["metadata"]["finalizers"]) == both
    assert owner["uid"] == config["metadata"]["uid"]

    first, second = setup.nodes
    first.availability.write_text("OFFLINE")
    await wait_instances(setup, {name: [second.name] for name in NAMES}, timeout=5)
    second.availability.write_text("OFFLINE")
    await wait_instances(setup, {}, timeout=5)
    first.availability.unlink()
    await wait_instances(setup, {name: [first.name] for name in NAMES}, timeout=5)


async def test_unshared_devices_get_one_instance_per_node(
    testbed: Cluster, objects: Objects, namespace: str, processes: ProcessGroup, tmp_path: Path
) -> None:
    nodes = await start_node_agents(testbed, processes, tmp_path, shared=False)
    setup = Setup(objects=objects, namespace=namespace, nodes=nodes)
    try:
        await apply_configuration(setup, "akri-debug-echo", "foo0")
        expected = {
            f"akri-debug-echo-{device_hash(DeviceId('foo0'), shared=False, node=NodeName(n.name))}": [
                n.name
            ]
            for n in nodes
        }
        await wait_instances(setup, expected)
        assert all(i["spec"]["shared"] is False for i in (await setup.instances()).values())
    finally:
        await delete_configurations(setup)


async def test_configuration_changes_reach_discovery_and_instances(shared_setup: Setup) -> None:
    setup = shared_setup
    both = sorted(n.name for n in setup.nodes)
    await apply_configuration(setup, "akri-debug-echo", "foo0")
    await wait_instances(setup, {"akri-debug-echo-8120fe": both})

    # New discoveryDetails restart discovery at once (upstream needs an agent restart).
    await apply_configuration(
        setup, "akri-debug-echo", "bar0", capacity=3, brokerProperties={"RESOLUTION": "800"}
    )
    await wait_instances(setup, {"akri-debug-echo-d46b65": both}, timeout=5)
    spec = (await setup.instances())["akri-debug-echo-d46b65"]["spec"]
    assert spec["capacity"] == 3
    assert spec["brokerProperties"] == {"DEBUG_ECHO_DESCRIPTION": "bar0", "RESOLUTION": "800"}

    # capacity and brokerProperties alone change the Instances in place.
    await apply_configuration(
        setup, "akri-debug-echo", "bar0", capacity=5, brokerProperties={"RESOLUTION": "1080"}
    )

    async def updated() -> bool:
        spec: dict[str, Any] = (
            (await setup.instances()).get("akri-debug-echo-d46b65", {}).get("spec", {})
        )
        return bool(
            spec.get("capacity") == 5
            and spec.get("brokerProperties", {}).get("RESOLUTION") == "1080"
        )

    await wait_for(updated, timeout=5, what="capacity 5 and RESOLUTION 1080", interval=0.1)


async def test_deleting_the_configuration_removes_its_instances(shared_setup: Setup) -> None:
    setup = shared_setup
    both = sorted(n.name for n in setup.nodes)
    await apply_configuration(setup, "akri-debug-echo", "foo0", "foo1")
    await wait_instances(setup, {name: both for name in NAMES})
    await setup.objects.delete(CONFIGURATION, namespace=setup.namespace, name="akri-debug-echo")

    async def gone() -> bool:
        try:
            await setup.objects.get(
                CONFIGURATION, namespace=setup.namespace, name="akri-debug-echo"
            )
        except NotFoundError:
            return not await setup.instances()
        return False

    await wait_for(gone, timeout=10, what="Configuration and Instances deleted", interval=0.1)


async def test_metrics_count_instances(shared_setup: Setup) -> None:
    setup = shared_setup
    await apply_configuration(setup, "akri-debug-echo", "foo0", "foo1")
    await wait_instances(setup, {name: sorted(n.name for n in setup.nodes) for name in NAMES})
    port = setup.nodes[0].metrics_port

    text = await scrape(port, "/metrics")
    assert 'akri_instance_count{configuration="akri-debug-echo",is_shared="true"} 2.0' in text
    assert (
        'akri_discovery_response_result_total{discovery_handler_name="debugEcho",result="ok"}'
        in text
    )
    assert "akri_discovery_response_time_bucket" in text
    # The whole exposition reads in prometheus_client's parser, process_* figures included.
    families = {f.name: f for f in text_string_to_metric_families(text.partition("\r\n\r\n")[2])}
    assert families["akri_api_requests"].type == "counter"
    assert families["process_resident_memory_bytes"].samples[0].value > 0
    assert families["process_open_fds"].samples[0].value > 0
    assert (await scrape(port, "/healthz")).startswith("HTTP/1.1 200")


async def test_a_missing_secret_is_reported_once_and_retried(shared_setup: Setup) -> None:
    setup = shared_setup
    both = sorted(n.name for n in setup.nodes)
    secret_ref = {
        "secretKeyRef": {"name": "camera-creds", "namespace": setup.namespace, "key": "password"}
    }
    await apply_configuration(
        setup,
        "needs-secret",
        "foo0",
        discoveryHandler={
            "name": "debugEcho",
            "discoveryDetails": "descriptions: [foo0]",
            "discoveryProperties": [{"name": "password", "valueFrom": secret_ref}],
        },
    )
    await apply_configuration(setup, "akri-debug-echo", "foo1")
    await wait_instances(setup, {"akri-debug-echo-a19705": both})  # the other one is not held up

    agent = setup.nodes[0].agent

    def reports() -> list[str]:
        return [
            line for line in agent.log().splitlines() if "discovery_properties_unresolved" in line
        ]

    await wait_for(lambda: bool(reports()), timeout=10, what="the unresolved Secret to be logged")
    (line,) = reports()
    assert f"{setup.namespace}/needs-secret" in line
    assert f"secret {setup.namespace}/camera-creds (key 'password') does not exist" in line

    await setup.objects.create(
        SECRET,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "camera-creds", "namespace": setup.namespace},
            "stringData": {"password": "s3cret"},
        },
    )
    await wait_instances(
        setup, {"akri-debug-echo-a19705": both, "needs-secret-8120fe": both}, timeout=15
    )
    assert len(reports()) == 1, "a retried failure is logged once"
    assert all("s3cret" not in line for line in agent.log().splitlines())


async def test_pods_get_the_device_and_slots_are_accounted(
    shared_setup: Setup, testbed: Cluster
) -> None:
    """Instance-level resource end to end: the real agent's plugins, the node's device manager."""
    setup = shared_setup
    objects = setup.objects
    node = testbed.nodes[0]
    both = sorted(n.name for n in setup.nodes)
    resource = "akri.sh/akri-debug-echo-8120fe"
    await apply_configuration(setup, "akri-debug-echo", "foo0", capacity=2)
    await wait_instances(setup, {"akri-debug-echo-8120fe": both})

    async def allocatable(count: str) -> bool:
        return (await node_resources(objects, node.name))[1].get(resource) == count

    await wait_for(lambda: allocatable("2"), timeout=15, what=f"{resource}=2 on {node.name}")

    for name in ("broker-a", "broker-b"):
        await create_pod(objects, pod_body(name, setup.namespace, resource, node=node.name))
    for name in ("broker-a", "broker-b"):
        pod = await running_pod(objects, setup.namespace, name)
        (container,) = run_options(node.run_options_dir, pod)["containers"]
        assert container["env"]["DEBUG_ECHO_DESCRIPTION"] == "foo0"
        assert container["env"]["DEBUG_ECHO_DESCRIPTION_8120FE"] == "foo0"

    usage = (await setup.instances())["akri-debug-echo-8120fe"]["spec"]["deviceUsage"]
    assert usage == {"akri-debug-echo-8120fe-0": node.name, "akri-debug-echo-8120fe-1": node.name}

    # Capacity 2: a third pod bound to the node fails admission.
    await create_pod(objects, pod_body("broker-c", setup.namespace, resource, node=node.name))
    failed = await pod_in_phase(objects, setup.namespace, "broker-c", "Failed")
    assert failed["status"]["reason"] == "UnexpectedAdmissionError"

    for name in ("broker-a", "broker-b", "broker-c"):
        await objects.delete(POD, namespace=setup.namespace, name=name)

    async def freed() -> bool:
        instance = (await setup.instances())["akri-debug-echo-8120fe"]
        return not instance["spec"].get("deviceUsage")

    took = await wait_for(freed, timeout=35, what="the reclaimer to free both slots", interval=0.5)
    print(f"slots freed {took:.1f} s after the pods were deleted")

    # The device goes offline on this node: it leaves `nodes` and its plugin stops.
    next(n for n in setup.nodes if n.name == node.name).availability.write_text("OFFLINE")
    others = [n for n in both if n != node.name]
    await wait_instances(setup, {"akri-debug-echo-8120fe": others}, timeout=5)
    await wait_for(lambda: allocatable("0"), timeout=10, what=f"{resource} withdrawn")


async def test_configuration_level_resource_and_a_kubelet_restart(
    shared_setup: Setup, testbed: Cluster
) -> None:
    """`akri.sh/<configuration>` end to end, an init and a main container both asking for it, and
    the node process restarted under a running agent."""
    setup = shared_setup
    objects = setup.objects
    node = testbed.nodes[0]
    both = sorted(n.name for n in setup.nodes)
    resource = "akri.sh/akri-debug-echo"
    await apply_configuration(setup, "akri-debug-echo", "foo0", capacity=2)
    await wait_instances(setup, {"akri-debug-echo-8120fe": both})

    async def allocatable(name: str, count: str) -> bool:
        return (await node_resources(objects, node.name))[1].get(name) == count

    await wait_for(lambda: allocatable(resource, "1"), timeout=15, what=f"{resource} offered")

    # Upstream #843: init and main container of one pod both request the configuration resource.
    await create_pod(
        objects, pod_body("both", setup.namespace, resource, init=True, node=node.name)
    )
    pod = await running_pod(objects, setup.namespace, "both")
    init, main = run_options(node.run_options_dir, pod)["containers"]
    assert init["env"]["DEBUG_ECHO_DESCRIPTION"] == "foo0"
    assert main["env"]["DEBUG_ECHO_DESCRIPTION_8120FE"] == "foo0"
    usage = (await setup.instances())["akri-debug-echo-8120fe"]["spec"]["deviceUsage"]
    ((slot, holder),) = usage.items()
    assert slot.startswith("akri-debug-echo-8120fe-")
    assert holder.startswith("C:akri-debug-echo-")
    assert holder.endswith(f":{node.name}")

    # Kubelet restarts (kubelet.sock re-created, plugin sockets removed): the plugins serve new
    # sockets and register again; a new pod is admitted, so the new kubelet knows them.
    instance_resource = "akri.sh/akri-debug-echo-8120fe"
    agent = next(n.agent for n in setup.nodes if n.name == node.name)

    # Sockets are told apart by identity, not name: a name carries the second it was made in, and
    # a plugin serving again within that second reuses it.
    def sockets() -> set[tuple[str, int, int]]:
        found = set()
        for path in node.device_plugin_dir.glob("akri-debug-echo*.sock"):
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                found.add((path.name, stat.st_ino, stat.st_ctime_ns))
        return found

    async def kubelet_knows(name: str) -> bool:
        known = await asyncio.to_thread(kubelet_allocatable, node.pod_resources_socket)
        return bool(known.get(name))

    before = sockets()
    restart_node(testbed, node.name)
    restarted = time.monotonic()
    await wait_for(
        lambda: bool(sockets() - before),
        timeout=5,
        what="new plugin sockets after the kubelet restart",
    )
    # A socket is served before its plugin has registered and sent its devices; until then the
    # new kubelet rejects a pod asking for the resource ("no healthy devices present").
    await wait_for(
        lambda: kubelet_knows(instance_resource),
        timeout=15,
        what=f"the restarted kubelet holding {instance_resource} healthy",
        interval=0.2,
    )
    await create_pod(objects, pod_body("after", setup.namespace, instance_resource, node=node.name))
    await running_pod(objects, setup.namespace, "after")
    print(f"a pod was admitted {time.monotonic() - restarted:.1f} s after the node came back")
    assert agent.proc.returncode is None, "the agent was not restarted"

    for name in ("both", "after"):
        await objects.delete(POD, namespace=setup.namespace, name=name)

    async def freed() -> bool:
        instance = (await setup.instances())["akri-debug-echo-8120fe"]
        return not instance["spec"].get("deviceUsage")

    await wait_for(freed, timeout=35, what="the configuration-level slot freed", interval=0.5)
