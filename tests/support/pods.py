"""Pods on the testbed's nodes: bodies, waiting for a phase, the run options the node recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc

from akri_common.k8s.errors import ApiError
from akri_common.k8s.objects import NODE, POD, JsonObject, Objects
from akri_proto.podresources.v1 import api_pb2, api_pb2_grpc
from tests.support.processes import wait_for


def pod_body(
    name: str,
    namespace: str,
    resource: str,
    *,
    init: bool = False,
    node: str | None = None,
) -> JsonObject:
    """A pod asking for one unit of ``resource`` (also in an init container when ``init``);
    bound straight to ``node`` (skipping the scheduler) when given."""
    limits = {"limits": {resource: "1"}}
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": False,
        "containers": [{"name": "main", "image": "busybox", "resources": limits}],
    }
    if init:
        spec["initContainers"] = [{"name": "init", "image": "busybox", "resources": limits}]
    if node is not None:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


async def create_pod(objects: Objects, body: JsonObject) -> None:
    """Creates the pod, retrying while the namespace's service account is not there yet."""

    async def created() -> bool:
        try:
            await objects.create(POD, body)
        except ApiError:
            return False
        return True

    await wait_for(created, timeout=30, what="pod created", interval=0.2)


async def pod_in_phase(
    objects: Objects, namespace: str, name: str, phase: str, *, timeout: float = 30
) -> JsonObject:
    result: dict[str, JsonObject] = {}

    async def reached() -> bool:
        pod = await objects.get(POD, namespace=namespace, name=name)
        current = pod.get("status", {}).get("phase")
        if phase != "Failed":
            assert current != "Failed", f"pod {name} rejected: {pod['status'].get('message')}"
        result["pod"] = pod
        return bool(current == phase)

    await wait_for(reached, timeout=timeout, what=f"pod {name} {phase}", interval=0.2)
    return result["pod"]


async def running_pod(objects: Objects, namespace: str, name: str) -> JsonObject:
    return await pod_in_phase(objects, namespace, name, "Running")


def run_options(directory: Path, pod: JsonObject) -> dict[str, Any]:
    """What the node would have given each container (env, mounts, devices)."""
    meta = pod["metadata"]
    path = directory / f"{meta['namespace']}_{meta['name']}_{meta['uid']}.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


async def node_resources(objects: Objects, node: str) -> tuple[dict[str, str], dict[str, str]]:
    """A node's capacity and allocatable."""
    obj = await objects.get(NODE, namespace=None, name=node)
    status = obj.get("status", {})
    return dict(status.get("capacity", {})), dict(status.get("allocatable", {}))


def kubelet_allocatable(socket: Path) -> dict[str, set[str]]:
    """The device ids by resource that the node's device manager holds healthy, as its
    pod-resources API (v1 GetAllocatableResources) reports them: what a pod can be admitted with
    now, unlike the Node's allocatable, which the kubelet publishes some time later. Blocking (a
    plain gRPC channel, so it serves sync tests too); async tests call it in a thread."""
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        response = api_pb2_grpc.PodResourcesListerStub(channel).GetAllocatableResources(
            api_pb2.AllocatableResourcesRequest(), timeout=5
        )
    found: dict[str, set[str]] = {}
    for devices in response.devices:
        found.setdefault(devices.resource_name, set()).update(devices.device_ids)
    return found
