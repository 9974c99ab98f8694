"""Device plugins against the testbed: deviceUsage on the real API server, and the node's own
kubelet device manager registering, allocating, restarting."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from akri_testbed.cluster import Cluster, restart_node

from akri_agent.device_plugins import DevicePluginManager
from akri_agent.device_plugins.backends import InstanceBackend
from akri_agent.device_plugins.errors import SlotUnavailableError
from akri_agent.device_plugins.ledger import InstanceLedger, InstanceSnapshot, field_manager
from akri_agent.device_plugins.plugin import PluginServer
from akri_agent.instances.registry import DeviceRegistry
from akri_common.crds.usage import NodeUsage
from akri_common.devices import Device, DeviceSpec
from akri_common.ids import ConfigurationName, InstanceName, NodeName
from akri_common.k8s.errors import NotFoundError
from akri_common.k8s.objects import INSTANCE, POD, JsonObject, Kind, Objects
from akri_common.k8s.reflector import Reflector
from akri_common.k8s.store import Store
from akri_handler_sdk.testing import leftover_tasks
from akri_proto.deviceplugin.v1beta1 import api_pb2 as pb
from akri_proto.deviceplugin.v1beta1 import api_pb2_grpc as pb_grpc
from tests.support import kube
from tests.support.kube import objects
from tests.support.pods import create_pod, node_resources, pod_body, run_options, running_pod
from tests.support.processes import wait_for

__all__ = ["objects"]

SERVICE_ACCOUNT = Kind("ServiceAccount", "", "v1", "serviceaccounts")
HASH = "8120fe"
GO_MAX_UNIX_PATH = 107


@pytest.fixture
async def namespace(objects: Objects) -> AsyncIterator[str]:
    name = f"dp-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, name)
    yield name
    items, _ = await objects.list_all(POD, namespace=name)
    for item in items:
        with contextlib.suppress(NotFoundError):
            await objects.delete(POD, namespace=name, name=item["metadata"]["name"])
    items, _ = await objects.list_all(INSTANCE, namespace=name)
    for item in items:
        with contextlib.suppress(NotFoundError):
            await objects.delete(INSTANCE, namespace=name, name=item["metadata"]["name"])


def instance_body(
    name: str, namespace: str, configuration: str, *, nodes: list[str], capacity: int
) -> JsonObject:
    return {
        "apiVersion": "akri.sh/v0",
        "kind": "Instance",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "configurationName": configuration,
            "cdiName": f"akri.sh/{configuration}={HASH}",
            "capacity": capacity,
            "brokerProperties": {"DEBUG_ECHO_DESCRIPTION": "foo0"},
            "shared": False,
            "nodes": nodes,
            "deviceUsage": {},
        },
    }


async def device_usage(objects: Objects, namespace: str, name: str) -> dict[str, str]:
    obj = await objects.get(INSTANCE, namespace=namespace, name=name)
    usage: dict[str, str] = obj["spec"].get("deviceUsage") or {}
    return usage


async def test_device_usage_claims_and_409(
    testbed: Cluster, objects: Objects, namespace: str, sockets_dir: Path
) -> None:
    node = NodeName(testbed.nodes[0].name)
    configuration = f"cfg{uuid.uuid4().hex[:6]}"
    name = f"{configuration}-{HASH}"
    obj = await objects.create(
        INSTANCE, instance_body(name, namespace, configuration, nodes=[node], capacity=2)
    )
    changes: list[None] = []
    ledger = InstanceLedger(
        node=node,
        objects=objects,
        snapshot=InstanceSnapshot.of(obj),
        on_change=lambda: changes.append(None),
    )
    backend = InstanceBackend(
        node=node,
        ledger=ledger,
        device=Device(id="foo0", properties={"DEBUG_ECHO_DESCRIPTION": "foo0"}),
    )
    plugin = PluginServer(plugin=name, directory=sockets_dir, backend=backend)
    socket = await plugin.start()
    try:
        async with grpc.aio.insecure_channel(f"unix://{socket}") as channel:
            client: Any = pb_grpc.DevicePluginStub(channel)

            async def allocate(*ids: str) -> pb.AllocateResponse:
                request = pb.AllocateRequest(
                    container_requests=[pb.ContainerAllocateRequest(devices_ids=list(ids))]
                )
                response: pb.AllocateResponse = await client.Allocate(request, timeout=10)
                return response

            response = await allocate(f"{name}-0")
            assert dict(response.container_responses[0].envs) == {
                "DEBUG_ECHO_DESCRIPTION": "foo0",
                f"DEBUG_ECHO_DESCRIPTION_{HASH.upper()}": "foo0",
            }
            assert await device_usage(objects, namespace, name) == {f"{name}-0": node}
            # the same slot again: already held, still fine
            await allocate(f"{name}-0")

            # another node's manager owns slot 1: our apply gets 409 → slot in use
            await objects.apply(
                INSTANCE,
                {
                    "apiVersion": "akri.sh/v0",
                    "kind": "Instance",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": {"deviceUsage": {f"{name}-1": "other-node"}},
                },
                field_manager=field_manager(NodeName("other-node")),
            )
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await allocate(f"{name}-1")
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert f"Unable to claim slot {name}-1" in str(err.value.details())
            with pytest.raises(SlotUnavailableError):
                await ledger.claim(f"{name}-1", NodeUsage(node))
            assert await device_usage(objects, namespace, name) == {
                f"{name}-0": node,
                f"{name}-1": "other-node",
            }
            # freeing = re-applying this node's set without the key; others' keys stay
            await ledger.release([f"{name}-0"])
            assert await device_usage(objects, namespace, name) == {f"{name}-1": "other-node"}
            assert len(changes) == 2
    finally:
        await plugin.stop()


# -- with the node's kubelet device manager ----------------------------------------------------


def socket_identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_ctime_ns


async def test_kubelet_registration_allocation_reclaim_and_restart(
    testbed: Cluster, objects: Objects, namespace: str
) -> None:
    node = testbed.nodes[0]
    configuration = f"c{uuid.uuid4().hex[:3]}"
    name = f"{configuration}-{HASH}"
    longest = node.device_plugin_dir / f"{name}-{int(time.time())}.sock"
    if len(str(longest)) > GO_MAX_UNIX_PATH:
        pytest.skip(
            f"kubelet (Go) cannot dial a socket path over {GO_MAX_UNIX_PATH} bytes such as"
            f" {longest}; run pytest with a short --basetemp (e.g. /tmp/akri-t)"
        )
    inst_resource, conf_resource = f"akri.sh/{name}", f"akri.sh/{configuration}"
    device = Device(
        id="foo0",
        properties={"DEBUG_ECHO_DESCRIPTION": "foo0"},
        device_specs=(DeviceSpec(container_path="/dev/null", host_path="", permissions="r"),),
    )
    store = Store()
    devices = DeviceRegistry()
    devices.replace(
        namespace=namespace,
        configuration=ConfigurationName(configuration),
        devices={InstanceName(name): device},
    )
    manager = DevicePluginManager(
        node=NodeName(node.name),
        objects=objects,
        instances=store,
        devices=devices,
        device_plugins_directory=node.device_plugin_dir,
        pod_resources_socket=node.pod_resources_socket,
        reclaim_interval=0.5,
        reclaim_grace=2.0,
    )
    reflector = Reflector(
        objects, INSTANCE, store, on_change=manager.instance_changed, namespace=namespace
    )
    tasks = [asyncio.create_task(manager.run()), asyncio.create_task(reflector.run())]
    try:
        await objects.create(
            INSTANCE, instance_body(name, namespace, configuration, nodes=[node.name], capacity=2)
        )

        async def advertised(instance_count: str, config_count: str) -> bool:
            capacity, allocatable = await node_resources(objects, node.name)
            return (
                capacity.get(inst_resource) == "2"
                and allocatable.get(inst_resource) == instance_count
                and allocatable.get(conf_resource) == config_count
            )

        await wait_for(
            lambda: advertised("2", "1"), timeout=20, what="resources on the node", interval=0.2
        )

        # an instance-level pod: admitted by the node's device manager with the device's env
        await create_pod(objects, pod_body("inst", namespace, inst_resource))
        pod = await running_pod(objects, namespace, "inst")
        (main,) = run_options(node.run_options_dir, pod)["containers"]
        assert main["env"]["DEBUG_ECHO_DESCRIPTION"] == "foo0"
        assert main["env"][f"DEBUG_ECHO_DESCRIPTION_{HASH.upper()}"] == "foo0"
        assert main["devices"] == [
            {"pathOnHost": "/dev/null", "pathInContainer": "/dev/null", "permissions": "r"}
        ]
        (slot,) = main["deviceIds"][inst_resource]
        assert await device_usage(objects, namespace, name) == {slot: node.name}

        # a configuration-level pod whose init and main containers both ask (upstream #843)
        await create_pod(objects, pod_body("conf", namespace, conf_resource, init=True))
        pod = await running_pod(objects, namespace, "conf")
        init, main = run_options(node.run_options_dir, pod)["containers"]
        assert init["init"]
        assert not main["init"]
        assert main["deviceIds"][conf_resource] == init["deviceIds"][conf_resource]
        (vid,) = main["deviceIds"][conf_resource]
        assert main["env"][f"DEBUG_ECHO_DESCRIPTION_{HASH.upper()}"] == "foo0"
        other = f"{name}-1" if slot == f"{name}-0" else f"{name}-0"
        assert await device_usage(objects, namespace, name) == {
            slot: node.name,
            other: f"C:{vid}:{node.name}",
        }

        # pods gone → the reclaimer frees both slots (instance-level ones too)
        for pod_name in ("inst", "conf"):
            await objects.delete(POD, namespace=namespace, name=pod_name)

        async def freed() -> bool:
            return await device_usage(objects, namespace, name) == {}

        await wait_for(freed, timeout=30, what="slots reclaimed", interval=0.2)
        await wait_for(
            lambda: advertised("2", "1"), timeout=10, what="slots healthy again", interval=0.2
        )

        # kubelet restart: kubelet.sock re-created, every plugin registers again within 5 s
        kubelet_sock = node.device_plugin_dir / "kubelet.sock"
        before = socket_identity(kubelet_sock)
        old = manager.registered_plugins()
        assert set(old) == {inst_resource, conf_resource}
        restart = asyncio.create_task(asyncio.to_thread(restart_node, testbed, node.name))
        await wait_for(
            lambda: socket_identity(kubelet_sock) not in (None, before),
            timeout=60,
            what="kubelet.sock re-created",
        )
        recreated = time.monotonic()

        def reregistered() -> bool:
            now = manager.registered_plugins()
            return set(now) == set(old) and all(
                p.exists() and (p != old[r] or not old[r].exists()) for r, p in now.items()
            )

        await wait_for(reregistered, timeout=10, what="plugins registered again")
        assert time.monotonic() - recreated <= 5.0
        await restart
        await wait_for(
            lambda: advertised("2", "1"), timeout=10, what="advertised after restart", interval=0.2
        )
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    left = [
        p.name for p in node.device_plugin_dir.glob("*.sock") if p.name.startswith(configuration)
    ]
    assert not left, f"plugin sockets left behind: {left}"
    assert not leftover_tasks()
