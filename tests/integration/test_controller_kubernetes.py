"""The controller on Kubernetes: broker pods, jobs and services, against the testbed's API server.

The controller runs as a real process. Most tests write Instances directly (with their nodes set),
so that they exercise the controller alone; the first runs the real agents and debugEcho handlers
to get them, as a user's cluster would. Broker pods request no Akri resource unless the test is
about admission: a pod requesting ``akri.sh/<instance>`` needs the agent's device plugin.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from akri_testbed.cluster import Cluster, restart_node
from akri_testbed.processes import stop as stop_testbed_process

from akri_common.k8s.objects import (
    CONFIGURATION,
    INSTANCE,
    JOB,
    NODE,
    POD,
    SERVICE,
    JsonObject,
    Kind,
    Objects,
)
from tests.support import kube
from tests.support.agents import start_node_agents
from tests.support.controller import start_controller
from tests.support.kube import objects
from tests.support.metrics import scrape
from tests.support.processes import Child, ProcessGroup, wait_for

__all__ = ["objects"]

BROKER = {"containers": [{"name": "broker", "image": "busybox"}]}
JOB_SPEC = {
    "backoffLimit": 0,
    "template": {
        "spec": {"restartPolicy": "Never", "containers": [{"name": "job", "image": "busybox"}]}
    },
}
SERVICE_SPEC = {"type": "ClusterIP", "ports": [{"name": "grpc", "port": 8083, "targetPort": 8083}]}


@dataclass
class Env:
    testbed: Cluster
    objects: Objects
    namespace: str
    processes: ProcessGroup
    metrics_port: int = 0
    controller: Child | None = None

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.testbed.nodes]

    async def start_controller(self, **env: str) -> Child:
        controller = await start_controller(
            self.processes, self.testbed, env={"LOG_FORMAT": "json", **env}
        )
        self.metrics_port = controller.metrics_port
        self.controller = controller.child
        return self.controller

    async def scrape(self, path: str) -> str:
        return await scrape(self.metrics_port, path)

    async def listed(self, kind: Kind, **selectors: str) -> dict[str, JsonObject]:
        items, _ = await self.objects.list_all(kind, namespace=self.namespace, **selectors)
        return {i["metadata"]["name"]: i for i in items}

    async def live_pods(self) -> dict[str, JsonObject]:
        """Broker pods not being deleted."""
        pods = await self.listed(POD, label_selector="akri.sh/instance")
        return {n: p for n, p in pods.items() if not p["metadata"].get("deletionTimestamp")}

    async def running_pods(self) -> dict[str, JsonObject]:
        return {
            n: p
            for n, p in (await self.live_pods()).items()
            if p["status"].get("phase") == "Running"
        }

    async def configuration(self, name: str, **spec: Any) -> JsonObject:
        body = kube.configuration(name, self.namespace, "foo0")
        body["spec"].update(spec)
        return await self.objects.apply(CONFIGURATION, body, field_manager="akri-tests", force=True)

    async def instance(
        self,
        name: str,
        configuration: JsonObject,
        nodes: list[str],
        *,
        shared: bool = True,
        usage: dict[str, str] | None = None,
    ) -> JsonObject:
        return await self.objects.create(
            INSTANCE, kube.instance(name, configuration, nodes, shared=shared, usage=usage)
        )

    async def set_nodes(self, name: str, nodes: list[str]) -> None:
        await self.objects.merge_patch(
            INSTANCE, {"spec": {"nodes": nodes}}, namespace=self.namespace, name=name
        )

    async def until(
        self, check: Callable[[], Awaitable[bool]], what: str, *, timeout: float = 30
    ) -> None:
        await wait_for(check, timeout=timeout, what=what, interval=0.2)


@pytest.fixture
async def env(testbed: Cluster, objects: Objects, processes: ProcessGroup) -> AsyncIterator[Env]:
    namespace = f"c-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, namespace)
    setup = Env(testbed=testbed, objects=objects, namespace=namespace, processes=processes)
    yield setup
    await processes.stop_all()
    await kube.delete_namespace(objects, namespace)


def pinned_node(pod: JsonObject) -> str:
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    return str(terms[-1]["matchFields"][0]["values"][0])


async def test_agents_and_controller_deploy_brokers_and_services(
    testbed: Cluster, env: Env, tmp_path: Path
) -> None:
    """Two debugEcho devices, capacity 2, a broker pod spec and both service specs."""
    nodes = await start_node_agents(testbed, env.processes, tmp_path, shared=True)
    await env.start_controller()

    async def apply(*descriptions: str) -> None:
        body = kube.configuration("akri-debug-echo", env.namespace, *descriptions)
        body["spec"].update(
            capacity=2,
            brokerSpec={"brokerPodSpec": BROKER},
            instanceServiceSpec=SERVICE_SPEC,
            configurationServiceSpec=SERVICE_SPEC,
        )
        await env.objects.apply(CONFIGURATION, body, field_manager="akri-tests", force=True)

    await apply("foo0", "foo1")
    instances = ["akri-debug-echo-8120fe", "akri-debug-echo-a19705"]
    both = sorted(env.node_names)
    expected_pods = {f"{n}-{i}-pod" for i in instances for n in both}

    async def deployed() -> bool:
        services = await env.listed(SERVICE)
        return set(await env.running_pods()) == expected_pods and set(services) == {
            *(f"{i}-svc" for i in instances),
            "akri-debug-echo-svc",
        }

    await env.until(deployed, "4 Running broker pods, 2 instance services, 1 configuration service")
    for pod in (await env.running_pods()).values():
        labels = pod["metadata"]["labels"]
        assert pod["spec"]["nodeName"] == labels["akri.sh/target-node"] == pinned_node(pod)
        assert labels["controller"] == "akri.sh"

    # A device gone (debugEcho no longer describes it): its Instance, pods and instance service go.
    await apply("foo1")

    async def only_foo1() -> bool:
        pods = set(await env.live_pods())
        services = set(await env.listed(SERVICE))
        return pods == {f"{n}-{instances[1]}-pod" for n in both} and services == {
            f"{instances[1]}-svc",
            "akri-debug-echo-svc",
        }

    await env.until(only_foo1, "foo0's broker pods and instance service to go")
    for node in nodes:
        node.availability.write_text("OFFLINE")

    async def nothing() -> bool:
        return not await env.live_pods() and not await env.listed(SERVICE)

    await env.until(nothing, "every broker pod and service to go")
    for node in nodes:
        node.availability.unlink()
    await apply("foo0", "foo1")
    await env.until(deployed, "brokers and services restored")


async def test_deleting_a_configuration_removes_its_instances_pods_jobs_and_services(
    testbed: Cluster, env: Env, tmp_path: Path
) -> None:
    """Two Configurations on the real agents: one with broker pods and both service specs, one with
    a broker Job. Deleting each leaves no Instance, pod, Job or Service of it, and does not touch
    the other's."""
    await start_node_agents(testbed, env.processes, tmp_path, shared=True)
    await env.start_controller()
    both = sorted(env.node_names)
    pods_config = kube.configuration("akri-debug-echo", env.namespace, "foo0", "foo1")
    pods_config["spec"].update(
        capacity=2,
        brokerSpec={"brokerPodSpec": BROKER},
        instanceServiceSpec=SERVICE_SPEC,
        configurationServiceSpec=SERVICE_SPEC,
    )
    jobs_config = kube.configuration("echo-jobs", env.namespace, "bar0")
    jobs_config["spec"].update(brokerSpec={"brokerJobSpec": JOB_SPEC})
    await env.objects.apply(CONFIGURATION, pods_config, field_manager="akri-tests", force=True)
    applied = await env.objects.apply(
        CONFIGURATION, jobs_config, field_manager="akri-tests", force=True
    )
    pod_instances = ["akri-debug-echo-8120fe", "akri-debug-echo-a19705"]
    job_name = f"echo-jobs-d46b65-{applied['metadata']['generation']}-job"

    expected = {
        "Pod": {f"{n}-{i}-pod" for i in pod_instances for n in both},
        "Service": {*(f"{i}-svc" for i in pod_instances), "akri-debug-echo-svc"},
        "Job": {job_name},
    }
    found: dict[str, set[str]] = {}

    async def deployed() -> bool:
        job_pods = await env.listed(POD, label_selector=f"job-name={job_name}")
        running = await env.running_pods()  # the Job's pod too: it has the instance label
        found.update(
            Pod={
                n for n, p in running.items() if p["metadata"]["labels"].get("akri.sh/target-node")
            },
            Service=set(await env.listed(SERVICE)),
            Job=set(await env.listed(JOB)),
            JobPod=set(job_pods),
        )
        return {k: v for k, v in found.items() if k != "JobPod"} == expected and bool(job_pods)

    try:
        await env.until(deployed, "4 broker pods, 3 services, a Job and its pod")
    except AssertionError as err:
        raise AssertionError(f"{err}; found {found}") from None
    jobs_before = await _owned_by(env, "echo-jobs")

    await env.objects.delete(CONFIGURATION, namespace=env.namespace, name="akri-debug-echo")
    await _until_nothing_left(env, "akri-debug-echo")
    assert await _owned_by(env, "echo-jobs") == jobs_before, "the other Configuration's objects"

    await env.objects.delete(CONFIGURATION, namespace=env.namespace, name="echo-jobs")
    await _until_nothing_left(env, "echo-jobs")
    assert not await env.listed(CONFIGURATION)


async def _owned_by(env: Env, configuration: str) -> dict[str, set[str]]:
    """The Instances of a Configuration and every pod, Job and Service made for it (terminating
    ones included), by kind."""
    instances = await env.listed(INSTANCE)
    selector = f"akri.sh/configuration={configuration}"
    # Instance services carry no configuration label; both kinds are named after it.
    services = {n for n in await env.listed(SERVICE) if n.startswith(f"{configuration}-")}
    found = {
        "Instance": {
            n for n, i in instances.items() if i["spec"]["configurationName"] == configuration
        },
        "Pod": set(await env.listed(POD, label_selector=selector)),
        "Job": set(await env.listed(JOB, label_selector=selector)),
        "Service": services,
    }
    return {kind: names for kind, names in found.items() if names}


async def _until_nothing_left(env: Env, configuration: str) -> None:
    async def nothing_left() -> bool:
        return not await _owned_by(env, configuration)

    try:
        await env.until(nothing_left, f"everything of {configuration} gone", timeout=60)
    except AssertionError as err:
        raise AssertionError(f"{err}; left: {await _owned_by(env, configuration)}") from None


async def test_broker_pods_services_and_metrics(env: Env) -> None:
    await env.start_controller()
    config = await env.configuration(
        "cam",
        brokerSpec={"brokerPodSpec": BROKER},
        instanceServiceSpec=SERVICE_SPEC,
        configurationServiceSpec=SERVICE_SPEC,
    )
    first, second = env.node_names
    one = await env.instance("cam-111111", config, [first, second])
    await env.instance("cam-222222", config, [second], shared=False)
    expected = {f"{first}-cam-111111-pod", f"{second}-cam-111111-pod", "cam-222222-pod"}

    async def running() -> bool:
        return set(await env.running_pods()) == expected

    await env.until(running, f"Running broker pods {expected}")
    pod = (await env.running_pods())[f"{first}-cam-111111-pod"]
    assert pod["metadata"]["labels"] == {
        "app": f"{first}-cam-111111-pod",
        "controller": "akri.sh",
        "akri.sh/configuration": "cam",
        "akri.sh/instance": "cam-111111",
        "akri.sh/target-node": first,
    }
    (owner,) = pod["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "Instance",
        "cam-111111",
        one["metadata"]["uid"],
    )
    assert owner["controller"] is True
    assert owner["blockOwnerDeletion"] is True
    assert pod["spec"]["nodeName"] == first == pinned_node(pod)

    async def services() -> bool:
        return set(await env.listed(SERVICE)) == {"cam-111111-svc", "cam-222222-svc", "cam-svc"}

    await env.until(services, "2 instance services and 1 configuration service")
    svc = await env.objects.get(SERVICE, namespace=env.namespace, name="cam-111111-svc")
    assert svc["spec"]["selector"] == {"controller": "akri.sh", "akri.sh/instance": "cam-111111"}
    assert svc["metadata"]["ownerReferences"][0]["kind"] == "Instance"
    config_svc = await env.objects.get(SERVICE, namespace=env.namespace, name="cam-svc")
    assert config_svc["spec"]["selector"] == {
        "controller": "akri.sh",
        "akri.sh/configuration": "cam",
    }
    assert config_svc["metadata"]["ownerReferences"][0]["uid"] == config["metadata"]["uid"]

    text = await env.scrape("/metrics")
    assert f'akri_broker_pod_count{{configuration="cam",node="{first}"}} 1.0' in text
    assert f'akri_broker_pod_count{{configuration="cam",node="{second}"}} 2.0' in text

    # A restart (even a kill) converges to the same state: no pod or service is touched.
    before = {n: p["metadata"]["uid"] for n, p in (await env.running_pods()).items()}
    assert env.controller is not None
    await env.processes.stop(env.controller, sig=9)
    await env.start_controller()
    await env.until(running, "the pods after the restart")
    assert {n: p["metadata"]["uid"] for n, p in (await env.running_pods()).items()} == before

    # A node leaves one Instance: its pod goes; the other node's stays.
    await env.set_nodes("cam-111111", [second])
    expected = {f"{second}-cam-111111-pod", "cam-222222-pod"}
    await env.until(running, "the pod of the node that left to go")

    async def pods_and_services_gone() -> bool:
        return not await env.live_pods() and not await env.listed(SERVICE)

    await env.set_nodes("cam-111111", [])
    await env.objects.delete(INSTANCE, namespace=env.namespace, name="cam-222222")
    await env.until(pods_and_services_gone, "all brokers and services gone")
    await env.set_nodes("cam-111111", [first])
    expected = {f"{first}-cam-111111-pod"}
    await env.until(running, "the broker restored")

    async def restored_services() -> bool:
        return set(await env.listed(SERVICE)) == {"cam-111111-svc", "cam-svc"}

    await env.until(restored_services, "services restored")
    assert env.controller is not None
    assert await env.processes.stop(env.controller) == 0, "SIGTERM stops it cleanly"
    assert "controller_stopping" in env.controller.log()


async def test_a_deleted_broker_pod_comes_back(env: Env) -> None:
    await env.start_controller()
    config = await env.configuration("cam", brokerSpec={"brokerPodSpec": BROKER})
    first = env.node_names[0]
    await env.instance("cam-333333", config, [first])
    name = f"{first}-cam-333333-pod"

    async def running() -> bool:
        return name in await env.running_pods()

    await env.until(running, "the broker pod Running")
    old_uid = (await env.running_pods())[name]["metadata"]["uid"]
    await env.objects.delete(POD, namespace=env.namespace, name=name)

    async def replaced() -> bool:
        pod = (await env.running_pods()).get(name)
        return pod is not None and pod["metadata"]["uid"] != old_uid

    await env.until(replaced, "a new broker pod (new UID) Running")


async def test_a_pending_broker_pod_is_replaced_after_the_grace_period(env: Env) -> None:
    """A pod requesting ``akri.sh/<instance>`` on a node that has no such resource stays Pending."""
    await env.start_controller(BROKER_PENDING_GRACE_SECONDS="2")
    spec = {
        "containers": [
            {
                "name": "broker",
                "image": "busybox",
                "resources": {
                    "limits": {"{{PLACEHOLDER}}": "1"},
                    "requests": {"{{PLACEHOLDER}}": "1"},
                },
            }
        ]
    }
    config = await env.configuration("cam", brokerSpec={"brokerPodSpec": spec})
    first = env.node_names[0]
    await env.instance("cam-444444", config, [first])
    name = f"{first}-cam-444444-pod"
    uids: set[str] = set()

    async def replaced_twice() -> bool:
        pod = (await env.live_pods()).get(name)
        if pod is not None:
            assert pod["status"].get("phase", "Pending") == "Pending"
            limits = pod["spec"]["containers"][0]["resources"]["limits"]
            assert limits == {"akri.sh/cam-444444": "1"}
            uids.add(pod["metadata"]["uid"])
        return len(uids) >= 3

    await env.until(replaced_twice, "the Pending pod to be replaced after 2 s, twice", timeout=40)


async def test_a_node_made_not_ready_leaves_every_instance(env: Env) -> None:
    await env.start_controller()
    config = await env.configuration("cam", brokerSpec={"brokerPodSpec": BROKER})
    first, second = env.node_names
    usage = {"cam-555555-0": second, "cam-555555-1": f"C:cam-0:{second}", "cam-555555-2": first}
    await env.instance("cam-555555", config, [first, second], usage=usage)
    await env.instance("cam-666666", config, [second], shared=False)
    for name in ("cam-555555", "cam-666666"):
        # Each node's agent (upstream's or ours) holds its finalizer on the Instances it lists.
        await env.objects.apply(
            INSTANCE,
            {
                "apiVersion": "akri.sh/v0",
                "kind": "Instance",
                "metadata": {"name": name, "namespace": env.namespace, "finalizers": [second]},
            },
            field_manager=f"{second}-fin",
        )

    async def running() -> bool:
        return len(await env.running_pods()) == 3

    await env.until(running, "3 broker pods Running")
    process = next(p for p in env.testbed.processes if p.name == second)
    await asyncio.to_thread(stop_testbed_process, process)
    try:
        await _mark_not_ready(env.objects, second)

        async def forgotten() -> bool:
            one = await env.objects.get(INSTANCE, namespace=env.namespace, name="cam-555555")
            two = await env.objects.get(INSTANCE, namespace=env.namespace, name="cam-666666")
            freed = {"cam-555555-0": "", "cam-555555-1": "", "cam-555555-2": first}
            return bool(
                one["spec"]["nodes"] == [first]
                and one["spec"]["deviceUsage"] == freed
                and two["spec"]["nodes"] == []
                and not one["metadata"].get("finalizers")
                and not two["metadata"].get("finalizers")
            )

        await env.until(forgotten, f"{second} removed from nodes, deviceUsage and finalizers")
        # Nothing holds the Instance of the departed node any more: deleting it completes.
        await env.objects.delete(INSTANCE, namespace=env.namespace, name="cam-666666")

        async def deleted() -> bool:
            return "cam-666666" not in await env.listed(INSTANCE)

        await env.until(deleted, "the departed node's Instance deleted", timeout=10)

        async def pods_removed() -> bool:
            return set(await env.live_pods()) == {f"{first}-cam-555555-pod"}

        await env.until(pods_removed, f"the broker pods on {second} removed")
    finally:
        await asyncio.to_thread(restart_node, env.testbed, second)


async def _mark_not_ready(objects: Objects, node: str) -> None:
    """Sets the Node's Ready condition to False through the status subresource (the node process
    is stopped, so nothing sets it back until it is restarted)."""
    obj = await objects.get(NODE, namespace=None, name=node)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    conditions = [
        {**c, "status": "False", "reason": "TestStopped", "lastTransitionTime": now}
        if c["type"] == "Ready"
        else c
        for c in obj["status"]["conditions"]
    ]
    status = Kind("Node", "", "v1", f"nodes/{node}", namespaced=False)
    await objects.merge_patch(
        status, {"status": {"conditions": conditions}}, namespace=None, name="status"
    )


async def test_job_brokers_follow_the_instance(env: Env) -> None:
    await env.start_controller()
    config = await env.configuration("cam", brokerSpec={"brokerJobSpec": JOB_SPEC})
    generation = config["metadata"]["generation"]
    first = env.node_names[0]
    await env.instance("cam-777777", config, [first])
    name = f"cam-777777-{generation}-job"

    async def created() -> bool:
        return name in await env.listed(JOB)

    await env.until(created, f"Job {name}")
    job = (await env.listed(JOB))[name]
    assert job["metadata"]["labels"] == {
        "app": name,
        "controller": "akri.sh",
        "akri.sh/configuration": "cam",
        "akri.sh/instance": "cam-777777",
    }
    assert job["metadata"]["ownerReferences"][0]["kind"] == "Instance"
    template_labels = job["spec"]["template"]["metadata"]["labels"]
    assert template_labels["akri.sh/instance"] == "cam-777777"
    assert not await env.listed(POD, label_selector="akri.sh/target-node"), "no broker pods"

    await env.objects.delete(INSTANCE, namespace=env.namespace, name="cam-777777")

    async def removed() -> bool:
        return not await env.listed(JOB)

    await env.until(removed, "the Job removed with its Instance")


async def test_brokers_are_admitted_with_the_instance_resource(
    testbed: Cluster, env: Env, tmp_path: Path
) -> None:
    """With the agent's device plugins: a broker requesting ``{{PLACEHOLDER}}`` is admitted with the
    device's environment."""
    await start_node_agents(testbed, env.processes, tmp_path, shared=True)
    await env.start_controller()
    spec = {
        "containers": [
            {
                "name": "broker",
                "image": "busybox",
                "resources": {"limits": {"{{PLACEHOLDER}}": "1"}},
            }
        ]
    }
    body = kube.configuration("akri-debug-echo", env.namespace, "foo0")
    body["spec"].update(capacity=2, brokerSpec={"brokerPodSpec": spec})
    await env.objects.apply(CONFIGURATION, body, field_manager="akri-tests", force=True)
    resource = "akri.sh/akri-debug-echo-8120fe"
    first = testbed.nodes[0]

    async def advertised() -> bool:
        node = await env.objects.get(NODE, namespace=None, name=first.name)
        allocatable: dict[str, str] = node["status"].get("allocatable") or {}
        return resource in allocatable

    try:
        await wait_for(advertised, timeout=15, what=f"{resource} advertised", interval=0.2)
    except AssertionError:
        pytest.skip(
            f"the agent does not advertise {resource} yet (its device plugins are not wired)"
        )
    name = f"{first.name}-akri-debug-echo-8120fe-pod"

    async def running() -> bool:
        return name in await env.running_pods()

    await env.until(running, f"{name} admitted and Running")
    uid = (await env.running_pods())[name]["metadata"]["uid"]
    options = list(first.run_options_dir.glob(f"*{uid}*.json"))
    assert options, f"no run options for {name}"
    assert "DEBUG_ECHO_DESCRIPTION" in options[0].read_text()
