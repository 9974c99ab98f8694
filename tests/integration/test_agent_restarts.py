"""The agent under restarts, races and changes, on the testbed with real processes (issue 12).

Agents, debugEcho handlers, a file-driven test handler (``tests.support.file_handler``) and the
controller run as real processes against the testbed's API server and node processes (kubelet's
own device manager). Each test shows one acceptance point: nothing lost, nothing churned, one path
for a device.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from akri_testbed.cluster import Cluster, NodeInfo, restart_node

from akri_agent.finalizers import set_finalizer
from akri_common.crds.naming import device_hash
from akri_common.ids import DeviceId, NodeName
from akri_common.k8s.errors import ApiError, NotFoundError
from akri_common.k8s.objects import (
    CONFIGURATION,
    INSTANCE,
    JOB,
    POD,
    SECRET,
    SERVICE,
    JsonObject,
    Objects,
)
from akri_proto.deviceplugin.v1beta1 import api_pb2 as dp_pb
from akri_proto.deviceplugin.v1beta1 import api_pb2_grpc as dp_grpc
from tests.support import kube
from tests.support.agents import (
    NodeAgent,
    delete_configurations,
    free_port,
    remove_dead_sockets,
    start_agent,
    start_debug_echo,
)
from tests.support.controller import start_controller
from tests.support.file_handler import write_devices
from tests.support.kube import objects
from tests.support.metrics import scrape
from tests.support.pods import create_pod, pod_body, running_pod
from tests.support.processes import Child, ProcessGroup, wait_for

__all__ = ["objects"]

# Short graces, so that a vanished device is released quickly after a restart in these tests.
FAST = {"LOG_FORMAT": "json", "AGENT_REGISTRATION_GRACE_SECONDS": "3"}
BROKER = {
    "containers": [
        {"name": "broker", "image": "busybox", "resources": {"limits": {"{{PLACEHOLDER}}": "1"}}}
    ]
}
SERVICE_SPEC = {"type": "ClusterIP", "ports": [{"name": "grpc", "port": 8083, "targetPort": 8083}]}


@dataclass
class Bed:
    testbed: Cluster
    objects: Objects
    namespace: str
    processes: ProcessGroup
    tmp_path: Path
    nodes: list[NodeAgent] = field(default_factory=list)
    handlers: dict[str, Child] = field(default_factory=dict)
    agent_env: dict[str, str] = field(default_factory=lambda: dict(FAST))

    def node(self, name: str) -> NodeInfo:
        return next(n for n in self.testbed.nodes if n.name == name)

    async def start_agents(self, *, shared: bool) -> None:
        for node in self.testbed.nodes:
            handlers_dir = self.processes.scratch_dir()
            availability = self.tmp_path / f"{node.name}-availability.txt"
            port = free_port()
            agent = await start_agent(
                self.processes, self.testbed, node, handlers_dir, metrics_port=port,
                env=self.agent_env,
            )  # fmt: skip
            self.handlers[node.name] = await start_debug_echo(
                self.processes, handlers_dir, availability, shared=shared,
                name=f"debug-echo-{node.name}",
            )  # fmt: skip
            self.nodes.append(NodeAgent(node.name, handlers_dir, availability, port, agent))

    async def restart_agent(self, agent: NodeAgent, *, kill: bool = True) -> None:
        """Kills the agent (SIGKILL: no cleanup at all) and starts it again."""
        await self.processes.stop(agent.agent, sig=signal.SIGKILL if kill else signal.SIGTERM)
        remove_dead_sockets(self.node(agent.name).device_plugin_dir)
        agent.agent = await start_agent(
            self.processes, self.testbed, self.node(agent.name), agent.handlers_dir,
            metrics_port=agent.metrics_port, env=self.agent_env,
            what="agent socket after a restart",
        )  # fmt: skip

    async def apply(self, name: str, *descriptions: str, **spec: Any) -> JsonObject:
        body = kube.configuration(name, self.namespace, *descriptions)
        body["spec"].update(spec)
        return await self.objects.apply(CONFIGURATION, body, field_manager="akri-tests", force=True)

    async def instances(self) -> dict[str, JsonObject]:
        return await kube.instances(self.objects, self.namespace)

    async def state(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Each Instance: its uid and sorted nodes."""
        return {
            name: (i["metadata"]["uid"], tuple(sorted(i["spec"]["nodes"])))
            for name, i in (await self.instances()).items()
        }

    async def brokers(self) -> dict[str, str]:
        """Each live broker pod: its uid."""
        items, _ = await self.objects.list_all(
            POD, namespace=self.namespace, label_selector="akri.sh/instance"
        )
        return {
            p["metadata"]["name"]: p["metadata"]["uid"]
            for p in items
            if not p["metadata"].get("deletionTimestamp")
        }

    async def running_brokers(self) -> dict[str, str]:
        items, _ = await self.objects.list_all(
            POD, namespace=self.namespace, label_selector="akri.sh/instance"
        )
        return {
            p["metadata"]["name"]: p["metadata"]["uid"]
            for p in items
            if not p["metadata"].get("deletionTimestamp")
            and p.get("status", {}).get("phase") == "Running"
        }

    async def owned_by(self, configuration: str) -> dict[str, list[str]]:
        """What of a Configuration is left: Instances, broker pods, Jobs and Services."""
        left: dict[str, list[str]] = {}
        left["instances"] = [
            n for n, i in (await self.instances()).items()
            if i["spec"]["configurationName"] == configuration
        ]  # fmt: skip
        selector = f"akri.sh/configuration={configuration}"
        for label, kind in (("pods", POD), ("jobs", JOB), ("services", SERVICE)):
            items, _ = await self.objects.list_all(
                kind, namespace=self.namespace, label_selector=selector
            )
            left[label] = [i["metadata"]["name"] for i in items]
        return {k: v for k, v in left.items() if v}


def registrations(agent: Child, resource: str) -> int:
    """How often this agent process has registered a plugin for ``resource`` with kubelet."""
    count = 0
    for line in agent.log().splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("event") == "plugin_registered" and entry.get("resource") == resource:
                count += 1
    return count


async def registered(
    agent: Child, resource: str, *, more_than: int = 0, timeout: float = 10
) -> None:
    """Waits until the agent has registered ``resource`` with kubelet more than ``more_than``
    times."""
    await wait_for(
        lambda: registrations(agent, resource) > more_than,
        timeout=timeout,
        what=f"{resource} registered by {agent.name}",
        interval=0.05,
    )


class InstanceHistory:
    """Every version of the namespace's Instances seen by a watch, to show what never happened."""

    def __init__(self, objects: Objects, namespace: str) -> None:
        self._objects = objects
        self._namespace = namespace
        self.events: list[tuple[str, str, tuple[str, ...]]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> InstanceHistory:
        _, version = await self._objects.list_all(INSTANCE, namespace=self._namespace)
        self._task = asyncio.create_task(self._watch(version))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _watch(self, version: str) -> None:
        while True:
            try:
                async for event in self._objects.watch(
                    INSTANCE, resource_version=version, namespace=self._namespace
                ):
                    metadata = event.object.get("metadata", {})
                    version = str(metadata.get("resourceVersion", version))
                    if event.type == "BOOKMARK":
                        continue
                    nodes = tuple(sorted((event.object.get("spec") or {}).get("nodes") or ()))
                    self.events.append((event.type, str(metadata.get("name")), nodes))
            except ApiError:
                await asyncio.sleep(0.1)  # wait-ok: resuming a watch the server ended

    def dropped(self, name: str, node: str) -> list[tuple[str, str, tuple[str, ...]]]:
        """Events in which Instance ``name`` did not list ``node`` (or was deleted)."""
        return [e for e in self.events if e[1] == name and (e[0] == "DELETED" or node not in e[2])]


@pytest.fixture
async def bed(
    testbed: Cluster, objects: Objects, processes: ProcessGroup, tmp_path: Path
) -> AsyncIterator[Bed]:
    namespace = f"r-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, namespace)
    setup = Bed(testbed, objects, namespace, processes, tmp_path)
    yield setup
    with contextlib.suppress(AssertionError):
        await delete_configurations(setup, timeout=20)
    await processes.stop_all()
    await kube.delete_namespace(objects, namespace)


async def settle(bed: Bed, *, what: str, timeout: float = 30) -> None:
    """Waits until every broker pod of every Instance is Running."""

    async def all_running() -> bool:
        instances = await bed.instances()
        wanted = sum(len(i["spec"]["nodes"]) for i in instances.values())
        return bool(instances) and len(await bed.running_brokers()) == wanted

    await wait_for(all_running, timeout=timeout, what=what, interval=0.2)


# -- 1. deleting a shared Configuration leaves nothing behind, every time ---------------------


@pytest.mark.timeout(900)
async def test_deleting_a_shared_configuration_leaves_nothing_twenty_times(bed: Bed) -> None:
    await bed.start_agents(shared=True)
    await start_controller(bed.processes, bed.testbed)
    both = tuple(sorted(n.name for n in bed.nodes))
    for round_ in range(20):
        await bed.apply(
            "shared",
            "foo0",
            "foo1",
            capacity=2,
            brokerSpec={"brokerPodSpec": BROKER},
            instanceServiceSpec=SERVICE_SPEC,
            configurationServiceSpec=SERVICE_SPEC,
        )

        async def deployed() -> bool:
            state = await bed.state()
            return (
                len(state) == 2
                and all(nodes == both for _, nodes in state.values())
                and len(await bed.running_brokers()) == 4
            )

        await wait_for(deployed, timeout=30, what=f"round {round_}: brokers", interval=0.1)
        await bed.objects.delete(CONFIGURATION, namespace=bed.namespace, name="shared")

        async def nothing_left() -> bool:
            return not await bed.owned_by("shared")

        try:
            await wait_for(nothing_left, timeout=10, what=f"round {round_}: cleanup", interval=0.1)
        except AssertionError as err:
            raise AssertionError(f"{err}; left: {await bed.owned_by('shared')}") from None

        async def configuration_gone() -> bool:
            try:
                await bed.objects.get(CONFIGURATION, namespace=bed.namespace, name="shared")
            except NotFoundError:
                return True
            return False

        await wait_for(configuration_gone, timeout=10, what="the Configuration gone")


# -- 2. kill -9 and restart the agent: nothing churned, a vanished device removed ------------


@pytest.mark.timeout(600)
async def test_agent_kill_and_restart_keeps_instances_and_brokers(bed: Bed) -> None:
    await bed.start_agents(shared=False)
    await start_controller(bed.processes, bed.testbed)
    await bed.apply("cams", "foo0", "foo1", brokerSpec={"brokerPodSpec": BROKER})
    await wait_for(lambda: _count(bed, 4), timeout=20, what="four Instances")
    await settle(bed, what="four brokers")
    instances, brokers = await bed.state(), await bed.brokers()
    first = bed.nodes[0]
    resource = next(
        f"akri.sh/{name}" for name, (_, nodes) in instances.items() if nodes == (first.name,)
    )

    async with InstanceHistory(bed.objects, bed.namespace) as history:
        for _ in range(10):
            await bed.restart_agent(first)
            await registered(first.agent, resource)
            assert await bed.state() == instances
            assert await bed.brokers() == brokers

        # A device that vanishes while the agent is down is released once it is back.
        await bed.processes.stop(first.agent, sig=signal.SIGKILL)
        remove_dead_sockets(bed.node(first.name).device_plugin_dir)
        first.availability.write_text("OFFLINE")
        first.agent = await start_agent(
            bed.processes, bed.testbed, bed.node(first.name), first.handlers_dir,
            metrics_port=first.metrics_port, env=bed.agent_env,
        )  # fmt: skip
        kept = {n: s for n, s in instances.items() if s[1] != (first.name,)}
        await wait_for(
            lambda: _state_is(bed, kept), timeout=15, what="the vanished devices released"
        )
    for name, (_, nodes) in kept.items():
        assert not history.dropped(name, nodes[0]), "an Instance that stayed was never touched"
    for name in instances:
        if name not in kept:
            assert [e[0] for e in history.events if e[1] == name][-1] == "DELETED"


async def _count(bed: Bed, count: int) -> bool:
    return len(await bed.instances()) == count


async def _state_is(bed: Bed, expected: dict[str, tuple[str, tuple[str, ...]]]) -> bool:
    return await bed.state() == expected


# -- 3. a discoveryDetails change that keeps devices keeps their Instances -------------------


async def test_a_details_change_keeps_the_devices_that_stay(bed: Bed) -> None:
    await bed.start_agents(shared=True)
    await start_controller(bed.processes, bed.testbed)
    both = tuple(sorted(n.name for n in bed.nodes))
    broker = {"brokerPodSpec": BROKER}
    await bed.apply("cams", "foo0", "foo1", "foo2", capacity=2, brokerSpec=broker)
    await wait_for(lambda: _count(bed, 3), timeout=20, what="three Instances")
    await settle(bed, what="six brokers")
    before, brokers = await bed.state(), await bed.brokers()
    gone = "cams-" + device_hash(DeviceId("foo2"), shared=True, node=NodeName(both[0]))
    async with InstanceHistory(bed.objects, bed.namespace) as history:
        await bed.apply("cams", "foo0", "foo1", capacity=2, brokerSpec=broker)
        kept = {n: s for n, s in before.items() if n != gone}
        await wait_for(lambda: _state_is(bed, kept), timeout=10, what="foo2 released")

        async def brokers_of_the_kept() -> bool:
            return {n: u for n, u in (await bed.brokers()).items() if gone not in n} == {
                n: u for n, u in brokers.items() if gone not in n
            } and not any(gone in n for n in await bed.brokers())

        await wait_for(brokers_of_the_kept, timeout=10, what="foo2's brokers gone", interval=0.1)
    for name in kept:
        for node in both:
            assert not history.dropped(name, node), f"{name} lost {node} meanwhile"


# -- 4. a failing Configuration does not switch the handler off ------------------------------


async def test_a_failing_configuration_does_not_switch_the_handler_off(bed: Bed) -> None:
    node = bed.testbed.nodes[0]
    handlers_dir = bed.processes.scratch_dir()
    devices = bed.tmp_path / "devices.json"
    write_devices(devices, [{"id": "cam-a"}, {"id": "cam-b"}])
    port = free_port()
    agent = await start_agent(
        bed.processes, bed.testbed, node, handlers_dir, metrics_port=port, env=bed.agent_env
    )
    await bed.processes.start(
        "tests.support.file_handler",
        env={"DISCOVERY_HANDLERS_DIRECTORY": str(handlers_dir), "FILE_HANDLER_DEVICES": str(devices)},
        name="file-handler",
    )  # fmt: skip

    def file_config(details: str) -> dict[str, Any]:
        return {"name": "file", "discoveryDetails": details}

    await bed.apply("bad-first", discoveryHandler=file_config("fail"))

    async def failed_once() -> bool:
        text = await scrape(port, "/metrics")
        return any(
            line.startswith("akri_discovery_response_result_total{")
            and 'discovery_handler_name="file"' in line
            and 'result="ok"' not in line
            for line in text.splitlines()
        )

    await wait_for(failed_once, timeout=15, what="the first failure", interval=0.1)
    await bed.apply("good", discoveryHandler=file_config("cam-a"))
    await wait_for(lambda: _names_are(bed, {"good-"}), timeout=10, what="good's Instance")
    await bed.apply("bad-second", discoveryHandler=file_config("fail"))
    await bed.apply("good-later", discoveryHandler=file_config("cam-b"))
    await wait_for(
        lambda: _names_are(bed, {"good-", "good-later-"}), timeout=10, what="good-later's Instance"
    )
    assert "handler_forgotten" not in agent.log()
    assert "discovery_handler_silent" not in agent.log()


async def _names_are(bed: Bed, prefixes: set[str]) -> bool:
    names = set(await bed.instances())
    return {n.rsplit("-", 1)[0] + "-" for n in names} == prefixes


# -- 5. a changed mount reaches Allocate at once ----------------------------------------------


async def test_a_changed_mount_reaches_the_next_allocate_within_a_second(bed: Bed) -> None:
    node = bed.testbed.nodes[0]
    handlers_dir = bed.processes.scratch_dir()
    devices = bed.tmp_path / "devices.json"
    mount = {"container_path": "/data", "host_path": "/srv/old"}
    write_devices(devices, [{"id": "disk", "mounts": [mount]}])
    agent = await start_agent(bed.processes, bed.testbed, node, handlers_dir, env=bed.agent_env)
    await bed.processes.start(
        "tests.support.file_handler",
        env={"DISCOVERY_HANDLERS_DIRECTORY": str(handlers_dir), "FILE_HANDLER_DEVICES": str(devices)},
        name="file-handler",
    )  # fmt: skip
    await bed.apply("disks", capacity=5, discoveryHandler={"name": "file"})
    await wait_for(lambda: _count(bed, 1), timeout=15, what="the disk's Instance")
    (instance,) = await bed.instances()
    await registered(agent, f"akri.sh/{instance}")
    plugin = max(node.device_plugin_dir.glob(f"{instance}-*.sock"), key=lambda p: p.name)

    async def allocated_host_paths(slot: int) -> list[str]:
        """What the plugin's ``Allocate`` returns for slot ``<instance>-<slot>``, over its socket."""
        async with grpc.aio.insecure_channel(f"unix://{plugin}") as channel:
            response = await dp_grpc.DevicePluginStub(channel).Allocate(
                dp_pb.AllocateRequest(
                    container_requests=[
                        dp_pb.ContainerAllocateRequest(devices_ids=[f"{instance}-{slot}"])
                    ]
                ),
                timeout=5,
            )
        return [m.host_path for m in response.container_responses[0].mounts]

    assert await allocated_host_paths(0) == ["/srv/old"]
    write_devices(devices, [{"id": "disk", "mounts": [{**mount, "host_path": "/srv/new"}]}])

    async def new_mount() -> bool:
        # The same slot again: kubelet re-allocating it writes nothing (it is held already), so
        # nothing but the device registry can bring the new mount.
        return await allocated_host_paths(0) == ["/srv/new"]

    await wait_for(new_mount, timeout=1.0, what="the new mount in Allocate", interval=0.05)


# -- 6. one Allocate: no Secret read, no apply of other Instances ----------------------------


async def test_one_allocate_reads_no_secret_and_applies_nothing_else(bed: Bed) -> None:
    node = bed.testbed.nodes[0]
    await bed.objects.create(
        SECRET,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": bed.namespace},
            "stringData": {"token": "t0ken"},
        },
    )
    handlers_dir = bed.processes.scratch_dir()
    port = free_port()
    agent = await start_agent(
        bed.processes, bed.testbed, node, handlers_dir, metrics_port=port, env=bed.agent_env
    )
    await start_debug_echo(
        bed.processes, handlers_dir, bed.tmp_path / "availability.txt", shared=False
    )
    ref = {"secretKeyRef": {"name": "creds", "namespace": bed.namespace, "key": "token"}}
    await bed.apply(
        "cams",
        capacity=2,
        discoveryHandler={
            "name": "debugEcho",
            "discoveryDetails": yaml.safe_dump({"descriptions": ["foo0", "foo1", "foo2"]}),
            "discoveryProperties": [{"name": "token", "valueFrom": ref}],
        },
    )
    await wait_for(lambda: _count(bed, 3), timeout=15, what="three Instances")
    instance = sorted(await bed.instances())[0]
    resource = f"akri.sh/{instance}"
    await registered(agent, resource)
    before = await _quiet_requests(port)

    await create_pod(bed.objects, pod_body("user", bed.namespace, resource, node=node.name))
    await running_pod(bed.objects, bed.namespace, "user")

    async def claimed() -> bool:
        return bool((await bed.instances())[instance]["spec"].get("deviceUsage"))

    await wait_for(claimed, timeout=10, what="the slot claimed", interval=0.1)
    after = await _quiet_requests(port)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after.keys() | before.keys()}
    delta = {k: v for k, v in delta.items() if v}
    print(f"API requests for one Allocate: {delta}")
    assert delta == {("PATCH", "instances"): 1}, "one deviceUsage write, nothing else"


async def _requests(port: int) -> dict[tuple[str, str], float]:
    counts: dict[tuple[str, str], float] = {}
    for line in (await scrape(port, "/metrics")).splitlines():
        if line.startswith("akri_api_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            fields = dict(
                part.split("=", 1) for part in labels[labels.index("{") + 1 : -1].split(",")
            )
            key = (fields["method"].strip('"'), fields["resource"].strip('"'))
            counts[key] = float(value)
    return counts


async def _quiet_requests(
    port: int, *, quiet: float = 1.0, timeout: float = 20
) -> dict[Any, float]:
    """The agent's request counts once they have not changed for ``quiet`` seconds (the watches'
    GETs aside, which only count reconnects)."""
    last: dict[Any, float] = {}
    since = asyncio.get_running_loop().time()

    async def steady() -> bool:
        nonlocal last, since
        now = await _requests(port)
        if now != last:
            last, since = now, asyncio.get_running_loop().time()
            return False
        return asyncio.get_running_loop().time() - since >= quiet

    await wait_for(steady, timeout=timeout, what="the agent's requests to settle", interval=0.2)
    return last


# -- 7. restart handler, agent and kubelet in any order: the same Instances within 5 s --------


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "order",
    list(itertools.permutations(("handler", "agent", "kubelet"))),
    ids="-".join,
)
async def test_restarts_in_any_order_converge_to_the_same_instances(
    bed: Bed, order: tuple[str, str, str]
) -> None:
    await bed.start_agents(shared=True)
    await bed.apply("cams", "foo0", "foo1")
    both = tuple(sorted(n.name for n in bed.nodes))

    async def listed_by_both() -> bool:
        state = await bed.state()
        return len(state) == 2 and all(nodes == both for _, nodes in state.values())

    await wait_for(listed_by_both, timeout=20, what="two Instances on both nodes")
    before = await bed.state()
    first = bed.nodes[0]
    resource = f"akri.sh/{sorted(before)[0]}"
    await registered(first.agent, resource)
    # Registrations of the current agent process that happened before kubelet's last restart.
    seen = 0
    async with InstanceHistory(bed.objects, bed.namespace) as history:
        for step in order:
            if step == "agent":
                await bed.restart_agent(first)
                seen = 0
            elif step == "kubelet":
                seen = registrations(first.agent, resource)
                await asyncio.to_thread(restart_node, bed.testbed, first.name)
            else:
                await _restart_handler(bed, first)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await wait_for(lambda: _state_is(bed, before), timeout=5, what="the same Instances")
        await registered(first.agent, resource, more_than=seen, timeout=5 - (loop.time() - started))
    for name in before:
        assert not history.dropped(name, first.name), f"{name} lost {first.name} meanwhile"


async def _restart_handler(bed: Bed, agent: NodeAgent) -> None:
    """Stops the node's debugEcho handler (SIGTERM, as kubelet would) and starts another."""
    name = f"debug-echo-{agent.name}"
    await bed.processes.stop(bed.handlers[agent.name])
    bed.handlers[agent.name] = await start_debug_echo(
        bed.processes, agent.handlers_dir, agent.availability, shared=True, name=name
    )


# -- 8. finalizers as upstream writes them; mixed with an upstream agent ---------------------


def finalizer_owners(obj: JsonObject) -> dict[str, str]:
    """Finalizer entry -> the field manager that owns it."""
    owners = {}
    for entry in obj["metadata"].get("managedFields") or ():
        fields = (entry.get("fieldsV1") or {}).get("f:metadata", {}).get("f:finalizers", {})
        for key in fields:
            if key.startswith("v:"):
                owners[json.loads(key[2:])] = entry["manager"]
    return owners


async def test_finalizers_are_written_as_upstream_and_mix_with_an_upstream_agent(bed: Bed) -> None:
    """Our agent on the first node, upstream's agent on the second node played by its writes
    (server-side applies as ``<node>`` and ``<node>-fin``): each keeps exactly its own entries."""
    await bed.start_agents(shared=True)
    ours, theirs = bed.nodes
    await bed.processes.stop(theirs.agent)
    config = await bed.apply("cams", "foo0")
    (name,) = await _wait_names(bed, 1)

    def partial(kind: str, obj_name: str, finalizers: list[str]) -> JsonObject:
        return {
            "apiVersion": "akri.sh/v0",
            "kind": kind,
            "metadata": {"name": obj_name, "namespace": bed.namespace, "finalizers": finalizers},
        }

    upstream_fin = f"{theirs.name}-fin"
    instance = (await bed.instances())[name]
    await bed.objects.apply(
        INSTANCE,
        {
            "apiVersion": "akri.sh/v0",
            "kind": "Instance",
            "metadata": {"name": name, "namespace": bed.namespace},
            "spec": {**instance["spec"], "nodes": [theirs.name], "deviceUsage": {}},
        },
        field_manager=theirs.name,
    )
    await bed.objects.apply(CONFIGURATION, partial("Configuration", "cams", [theirs.name]),
                            field_manager=upstream_fin)  # fmt: skip
    await bed.objects.apply(INSTANCE, partial("Instance", name, [theirs.name]),
                            field_manager=upstream_fin)  # fmt: skip

    async def both_hold() -> bool:
        obj = (await bed.instances())[name]
        return set(obj["metadata"].get("finalizers") or ()) == {ours.name, theirs.name}

    await wait_for(both_hold, timeout=10, what="both nodes' Instance finalizers", interval=0.1)
    expected = {ours.name: f"{ours.name}-fin", theirs.name: upstream_fin}
    assert finalizer_owners((await bed.instances())[name]) == expected
    config = await bed.objects.get(CONFIGURATION, namespace=bed.namespace, name="cams")
    assert finalizer_owners(config) == expected

    # Our device goes: our node leaves the Instance and drops its finalizer, upstream's stay.
    ours.availability.write_text("OFFLINE")

    async def only_theirs() -> bool:
        obj = (await bed.instances())[name]
        return bool(
            obj["spec"]["nodes"] == [theirs.name]
            and obj["metadata"].get("finalizers") == [theirs.name]
        )

    await wait_for(only_theirs, timeout=10, what="our node gone from the Instance", interval=0.1)

    # The Configuration is deleted: we remove our finalizer, upstream's stays until it acts.
    await bed.objects.delete(CONFIGURATION, namespace=bed.namespace, name="cams")

    async def ours_removed() -> bool:
        obj = await bed.objects.get(CONFIGURATION, namespace=bed.namespace, name="cams")
        return bool(obj["metadata"].get("finalizers") == [theirs.name])

    await wait_for(ours_removed, timeout=10, what="our Configuration finalizer removed")
    for kind, obj_name, body_kind in ((INSTANCE, name, "Instance"),
                                      (CONFIGURATION, "cams", "Configuration")):  # fmt: skip
        await bed.objects.apply(kind, partial(body_kind, obj_name, []), field_manager=upstream_fin)
    await bed.objects.delete(INSTANCE, namespace=bed.namespace, name=name)

    async def all_gone() -> bool:
        left, _ = await bed.objects.list_all(CONFIGURATION, namespace=bed.namespace)
        return not left and not await bed.instances()

    await wait_for(all_gone, timeout=10, what="Configuration and Instance gone")


async def _wait_names(bed: Bed, count: int) -> list[str]:
    await wait_for(lambda: _count(bed, count), timeout=15, what=f"{count} Instances")
    return sorted(await bed.instances())


async def test_a_finalizer_is_never_applied_to_a_deleted_object(bed: Bed) -> None:
    """The agent's finalizer apply names the uid it read: on a Configuration that was deleted
    meanwhile it fails instead of creating an empty Configuration."""
    body = kube.configuration("short-lived", bed.namespace, "foo0")
    created = await bed.objects.apply(CONFIGURATION, body, field_manager="akri-tests")
    await bed.objects.delete(CONFIGURATION, namespace=bed.namespace, name="short-lived")
    with pytest.raises(ApiError):
        await set_finalizer(bed.objects, CONFIGURATION, created, NodeName("n1"), present=True)
    with pytest.raises(NotFoundError):
        await bed.objects.get(CONFIGURATION, namespace=bed.namespace, name="short-lived")


# -- 9. a rollout stops the agent at any moment: it exits at once --------------------------


async def test_sigterm_right_after_start_stops_the_agent_at_once(bed: Bed) -> None:
    """A DaemonSet rollout may stop an agent that has just started (its watches just opened, a
    handler registering): it stops within the deadline, exits 0 and removes its socket."""
    node = bed.testbed.nodes[0]
    for round_ in range(10):
        handlers_dir = bed.processes.scratch_dir()
        agent = await start_agent(bed.processes, bed.testbed, node, handlers_dir, env=bed.agent_env)
        await start_debug_echo(
            bed.processes, handlers_dir, bed.tmp_path / "availability.txt", shared=True,
            name=f"debug-echo-{round_}",
        )  # fmt: skip
        agent.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(agent.proc.wait(), 5)
        except TimeoutError:
            raise AssertionError(f"round {round_}: still running 5 s after SIGTERM") from None
        assert code == 0, agent.log()
        assert not (handlers_dir / "agent-registration.sock").exists()
