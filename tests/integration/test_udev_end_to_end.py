"""The udev handler end to end: a fake USB camera, the agent on the testbed, a pod that gets it.

Run under ``umockdev-wrapper`` (``make test`` does). The test process owns the ``UMockdev.Testbed``
(``tests/data/udev/camera.umockdev``); ``python -m akri_udev`` inherits the preload and is pointed at
it with ``UMOCKDEV_DIR``. The agent for testbed node 1 runs without the preload: it never reads
udev, and its view of ``/dev`` and ``/sys`` should stay the real one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from akri_testbed.cluster import Cluster

from akri_common.crds.naming import device_hash
from akri_common.ids import DeviceId, NodeName
from akri_common.k8s.objects import CONFIGURATION, POD, Objects
from tests.support import kube
from tests.support.agents import (
    delete_configurations,
    names_and_nodes,
    start_agent,
    wait_instances,
)
from tests.support.pods import create_pod, node_resources, pod_body, run_options, running_pod
from tests.support.processes import Child, ProcessGroup, wait_for
from tests.support.umockdev import VIDEO0, VIDEO1, Bed, camera_bed

pytestmark = pytest.mark.umockdev

CONFIG = "akri-udev-video"


@pytest.fixture
def bed() -> Iterator[Bed]:
    with camera_bed() as testbed:
        # The camera's metadata node matches KERNEL=="video[0-9]*" too: without it the rule finds
        # exactly one device (removed before the handler starts, so no uevent is needed).
        testbed.testbed.remove_device(f"/sys{VIDEO1}")
        yield testbed


@dataclass
class Setup:
    objects: Objects
    namespace: str
    node: str
    agent: Child
    handler: Child

    async def instances(self) -> dict[str, dict[str, Any]]:
        return await kube.instances(self.objects, self.namespace)

    def logs(self) -> str:
        return f"agent log:\n{self.agent.log()[-4000:]}\nhandler log:\n{self.handler.log()[-4000:]}"


@pytest.fixture
async def setup(
    bed: Bed,  # before `processes`: the children stop before the fake tree goes
    testbed: Cluster,
    processes: ProcessGroup,
    sockets_dir: Path,
) -> AsyncIterator[Setup]:
    node = testbed.nodes[0]
    async with kube.api(testbed.kubeconfig) as objects:
        await kube.install_crds(objects)
        namespace = f"t-{uuid.uuid4().hex[:8]}"
        await kube.create_namespace(objects, namespace)
        agent = await start_agent(
            processes,
            testbed,
            node,
            sockets_dir,
            # The agent has nothing to do with the fake udev tree.
            env={"LOG_FORMAT": "json", "LD_PRELOAD": ""},
        )
        handler = await processes.start(
            "akri_udev",
            env={
                "DISCOVERY_HANDLERS_DIRECTORY": str(sockets_dir),
                "UMOCKDEV_DIR": bed.root,
                "LOG_FORMAT": "json",
            },
            name="udev",
        )
        await wait_for((sockets_dir / "udev.sock").exists, timeout=20, what="udev handler socket")
        setup = Setup(objects, namespace, node.name, agent, handler)
        yield setup
        await delete_configurations(setup)


async def test_a_fake_camera_becomes_an_instance_a_pod_gets_and_goes_when_unplugged(
    setup: Setup, bed: Bed, testbed: Cluster
) -> None:
    objects = setup.objects
    node = testbed.nodes[0]
    await objects.apply(
        CONFIGURATION,
        {
            "apiVersion": "akri.sh/v0",
            "kind": "Configuration",
            "metadata": {"name": CONFIG, "namespace": setup.namespace},
            "spec": {
                "discoveryHandler": {
                    "name": "udev",
                    "discoveryDetails": "udevRules: ['KERNEL==\"video[0-9]*\"']\n",
                }
            },
        },
        field_manager="akri-tests",
        force=True,
    )
    digest = device_hash(DeviceId(VIDEO0), shared=False, node=NodeName(node.name))
    instance_name = f"{CONFIG}-{digest}"
    await wait_instances(setup, {instance_name: [node.name]}, details=setup.logs)

    spec = (await setup.instances())[instance_name]["spec"]
    assert spec["shared"] is False
    assert spec["capacity"] == 1
    assert spec["brokerProperties"] == {"UDEV_DEVNODE": "/dev/video0", "UDEV_DEVPATH": VIDEO0}

    resource = f"akri.sh/{instance_name}"

    async def allocatable(count: str) -> bool:
        return (await node_resources(objects, node.name))[1].get(resource) == count

    await wait_for(lambda: allocatable("1"), timeout=15, what=f"{resource}=1 on {node.name}")
    assert await names_and_nodes(setup) == {instance_name: [node.name]}

    await create_pod(objects, pod_body("camera-broker", setup.namespace, resource, node=node.name))
    pod = await running_pod(objects, setup.namespace, "camera-broker")
    (container,) = run_options(node.run_options_dir, pod)["containers"]
    assert container["env"]["UDEV_DEVNODE"] == "/dev/video0"
    assert container["env"][f"UDEV_DEVNODE_{digest.upper()}"] == "/dev/video0"
    assert container["env"]["UDEV_DEVPATH"] == VIDEO0
    assert container["devices"] == [
        {"pathOnHost": "/dev/video0", "pathInContainer": "/dev/video0", "permissions": "rwm"}
    ]
    usage = (await setup.instances())[instance_name]["spec"]["deviceUsage"]
    assert usage == {f"{instance_name}-0": node.name}

    # Unplugged: the uevent reaches the handler, the agent deletes the Instance and its resource.
    bed.unplug(f"/sys{VIDEO0}")
    await wait_instances(setup, {}, timeout=5, details=setup.logs)
    await wait_for(lambda: allocatable("0"), timeout=10, what=f"{resource} withdrawn")
    await objects.delete(POD, namespace=setup.namespace, name="camera-broker")
