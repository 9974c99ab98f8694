"""ONVIF end to end: a camera both testbed nodes reach becomes one shared Instance listing both.

Topology (all of it created and deleted by the test; nothing multicasts in the root namespace)::

    <prefix>-h  (handler 1) --veth--+
                                    +-- bridge "vc" in <prefix>-c  (the simulated camera)
    <prefix>-h2 (handler 2) --veth--+

Each ONVIF handler runs in its own handler namespace and registers over a Unix socket (the
filesystem is shared across network namespaces) with its own agent: agent 1 for testbed node 1,
agent 2 for node 2. Both agents run in the root namespace and talk to the testbed's real API
server on loopback.
"""

from __future__ import annotations

import json
import shutil
import time
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
from akri_handler_sdk.testing import leftover_tasks
from tests.integration.onvif_support.lab import LabProcess, OnvifLab, SimulatedCamera
from tests.support import kube
from tests.support.agents import delete_configurations, start_agent, wait_instances
from tests.support.pods import create_pod, node_resources, pod_body, run_options, running_pod
from tests.support.processes import Child, ProcessGroup, wait_for

pytestmark = pytest.mark.netns

UUID = "7d3c9b1a-0000-4000-8000-0000000000e2"
MAC = "02:00:00:00:00:e2"
CONFIG = "onvif"


@dataclass
class NodeSide:
    """One testbed node: its agent (root namespace) and its ONVIF handler (a lab namespace)."""

    name: str
    directory: Path
    agent: Child
    handler: LabProcess


@dataclass
class EndToEnd:
    objects: Objects
    namespace: str
    lab: OnvifLab
    camera: SimulatedCamera
    nodes: list[NodeSide]

    async def instances(self) -> dict[str, dict[str, Any]]:
        return await kube.instances(self.objects, self.namespace)


def log_events(process: LabProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]


@pytest.fixture
async def end_to_end(
    testbed: Cluster, processes: ProcessGroup, tmp_path: Path
) -> AsyncIterator[EndToEnd]:
    """Two agents, two handlers in two namespaces, one camera; everything removed afterwards."""
    assert len(testbed.nodes) >= 2, "the testbed needs two nodes"
    # Short paths: Unix socket paths are limited to 107 bytes.
    directories = [Path(f"/tmp/akri-onvif-{uuid.uuid4().hex[:8]}-{i + 1}") for i in range(2)]
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    try:
        async with kube.api(testbed.kubeconfig) as objects:
            await kube.install_crds(objects)
            await kube.create_namespace(objects, namespace)
            (tmp_path / "lab").mkdir()
            async with OnvifLab(logs=tmp_path / "lab", handlers=2) as lab:
                camera = await lab.start_camera(uuid=UUID, mac=MAC)
                nodes = []
                for index, directory in enumerate(directories):
                    directory.mkdir()
                    info = testbed.nodes[index]
                    agent = await start_agent(
                        processes, testbed, info, directory, what=f"agent {info.name}"
                    )
                    # Probes every 60 s: only the camera's Bye can explain a removal in seconds.
                    handler = await lab.start_handler(
                        directory, index, ONVIF_PROBE_INTERVAL_SECONDS="60"
                    )
                    await wait_for(
                        (directory / "onvif.sock").exists, timeout=20, what="handler serving"
                    )
                    nodes.append(NodeSide(info.name, directory, agent, handler))
                setup = EndToEnd(objects, namespace, lab, camera, nodes)
                try:
                    yield setup
                finally:
                    await delete_configurations(setup)
                    for node in nodes:  # SIGTERM: each handler removes its socket
                        assert await lab.stop(node.handler) == 0, node.handler.log()
                    await lab.stop(camera.process)
                    await processes.stop_all()
            assert not lab.namespaces_exist(), "network namespaces left behind"
            assert all(p.proc.returncode is not None for p in lab.processes)
            assert all(n.agent.proc.returncode is not None for n in nodes)
            await kube.delete_namespace(objects, namespace)
    finally:
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)
    assert not leftover_tasks()


async def apply_configuration(setup: EndToEnd, **details: Any) -> None:
    body = {
        "apiVersion": "akri.sh/v0",
        "kind": "Configuration",
        "metadata": {"name": CONFIG, "namespace": setup.namespace},
        "spec": {
            "discoveryHandler": {
                "name": "onvif",
                "discoveryDetails": yaml.safe_dump({"discoveryTimeoutSeconds": 1, **details}),
            },
        },
    }
    await setup.objects.apply(CONFIGURATION, body, field_manager="akri-tests", force=True)


async def test_a_camera_two_nodes_reach_is_one_shared_instance_listing_both(
    end_to_end: EndToEnd,
) -> None:
    setup = end_to_end
    camera = setup.camera
    both = sorted(n.name for n in setup.nodes)
    device_id = DeviceId(f"{camera.url}-{camera.uuid}")
    name = f"{CONFIG}-{device_hash(device_id, shared=True, node=NodeName(both[0]))}"

    started = time.monotonic()
    await apply_configuration(setup)

    await wait_instances(setup, {name: both}, timeout=20)
    appeared = time.monotonic() - started

    spec = (await setup.instances())[name]["spec"]
    assert spec["shared"] is True
    assert spec["configurationName"] == CONFIG
    assert spec["brokerProperties"] == {
        "ONVIF_DEVICE_SERVICE_URL": camera.url,
        "ONVIF_DEVICE_UUID": camera.uuid,
        "ONVIF_DEVICE_IP_ADDRESS": camera.ip,
        "ONVIF_DEVICE_MAC_ADDRESS": camera.mac,
    }

    # The camera says Bye (SIGTERM); both handlers hear it, both agents drop it: the Instance goes.
    bye_at = time.monotonic()
    await setup.lab.stop(camera.process)

    async def gone() -> bool:
        return not await setup.instances()

    await wait_for(gone, timeout=5, what=f"Instance {name} deleted after the Bye", interval=0.1)
    for node in setup.nodes:
        byes = [e["uuid"] for e in log_events(node.handler) if e.get("event") == "onvif_bye"]
        assert byes[:1] == [camera.uuid], f"the handler of {node.name} did not hear the Bye"
    print(
        f"Configuration -> shared Instance on both nodes {appeared:.2f} s; "
        f"Bye -> Instance deleted {time.monotonic() - bye_at:.2f} s"
    )


async def test_described_media_reach_the_instance_and_a_broker_through_allocate(
    end_to_end: EndToEnd, testbed: Cluster
) -> None:
    setup = end_to_end
    camera = setup.camera
    both = sorted(n.name for n in setup.nodes)
    device_id = DeviceId(f"{camera.url}-{camera.uuid}")
    digest = device_hash(device_id, shared=True, node=NodeName(both[0]))
    name = f"{CONFIG}-{digest}"
    await apply_configuration(setup, describeMedia=True)
    await wait_instances(setup, {name: both}, timeout=20)

    media = {
        "ONVIF_MEDIA_SERVICE": "media2",
        "ONVIF_PROFILE_COUNT": "2",
        "ONVIF_PROFILE_0_TOKEN": "main",
        "ONVIF_PROFILE_0_NAME": "Main stream",
        "ONVIF_PROFILE_0_RESOLUTION": "1920x1080",
        "ONVIF_PROFILE_0_STREAM_URI": f"rtsp://{camera.ip}:554/stream/main",
        "ONVIF_PROFILE_0_SNAPSHOT_URI": f"http://{camera.ip}:8080/snapshot/main.jpg",
        "ONVIF_PROFILE_1_TOKEN": "sub",
        "ONVIF_PROFILE_1_NAME": "Sub stream",
        "ONVIF_PROFILE_1_RESOLUTION": "640x360",
        "ONVIF_PROFILE_1_STREAM_URI": f"http://{camera.ip}:8080/stream.mjpeg",
        "ONVIF_PROFILE_1_SNAPSHOT_URI": f"http://{camera.ip}:8080/snapshot/sub.jpg",
    }
    spec = (await setup.instances())[name]["spec"]
    assert {k: v for k, v in spec["brokerProperties"].items() if k in media} == media

    # A broker pod asking for the Instance gets them in its environment, through Allocate.
    node = next(n for n in testbed.nodes if n.name == both[0])
    resource = f"akri.sh/{name}"

    async def advertised() -> bool:
        return (await node_resources(setup.objects, node.name))[1].get(resource) == "1"

    await wait_for(advertised, timeout=20, what=f"{resource} on {node.name}", interval=0.2)
    await create_pod(setup.objects, pod_body("broker", setup.namespace, resource, node=node.name))
    pod = await running_pod(setup.objects, setup.namespace, "broker")
    (container,) = run_options(node.run_options_dir, pod)["containers"]
    for key, value in media.items():
        assert container["env"][key] == value
        assert container["env"][f"{key}_{digest.upper()}"] == value
    await setup.objects.delete(POD, namespace=setup.namespace, name="broker")
