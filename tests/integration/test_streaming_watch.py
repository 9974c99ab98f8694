"""The streaming app's watch mode against the testbed's real API server: tiles follow Services and
Instances as they come and go, within a second or two, with the RBAC the manifest grants.

The fast testbed has no kube-proxy, so a Service's ClusterIP leads nowhere on this machine (a
packet to it would leave it): the app dials only ``STREAMING_SOURCE_OVERRIDE``, a camera on
loopback, and the test checks which address it resolved each Service to, not that it dialled it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from akri_testbed import kubeconfig
from akri_testbed.cluster import Cluster

from akri_common.k8s.objects import CONFIGURATION, INSTANCE, SERVICE, Kind, Objects
from akri_streaming.manifest import NAME, manifests
from tests.support import kube
from tests.support.camera_peer import CameraPeer
from tests.support.kube import objects
from tests.support.kubectl import Kubectl
from tests.support.processes import ProcessGroup, wait_for
from tests.support.streaming import StreamingApp, start_app

__all__ = ["objects"]

pytestmark = [pytest.mark.timeout(180), pytest.mark.usefixtures("no_leftover_tasks")]

CONFIG = "cams"
FOLLOW_WITHIN = 2.0  # seconds from a change in the API to /camera_list showing it
KINDS = {
    "ServiceAccount": Kind("ServiceAccount", "", "v1", "serviceaccounts"),
    "Role": Kind("Role", "rbac.authorization.k8s.io", "v1", "roles"),
    "RoleBinding": Kind("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings"),
}


@pytest.fixture
async def namespace(objects: Objects) -> AsyncIterator[str]:
    name = f"stream-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, name)
    yield name
    await kube.delete_namespace(objects, name)


@pytest.fixture
async def camera() -> AsyncIterator[CameraPeer]:
    peer = CameraPeer("loop-cam")
    await peer.start()
    yield peer
    await peer.stop()


def akri_service(name: str, namespace: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"controller": "akri.sh", **labels},
        },
        "spec": {
            "type": "ClusterIP",
            "selector": {"akri.sh/configuration": CONFIG},
            "ports": [{"name": "grpc", "port": 80, "targetPort": 8083}],
        },
    }


async def app_credentials(testbed: Cluster, objects: Objects, namespace: str, path: Path) -> Path:
    """The manifest's ServiceAccount and Role in ``namespace``, and a kubeconfig with its token."""
    for document in manifests(namespace=namespace, configuration=CONFIG)[:3]:
        await objects.apply(KINDS[document["kind"]], document, field_manager="akri-tests")
    token = Kubectl.of(testbed)("create", "token", NAME, "-n", namespace, "--duration=1h").strip()
    return kubeconfig.write(path, server=testbed.server, ca_cert=testbed.ca_cert, token=token)


async def follows(app: StreamingApp, expected: set[str], what: str) -> float:
    """Seconds until /camera_list holds exactly the tiles ``expected``."""

    async def shown() -> bool:
        return {c["key"] for c in await app.cameras()} == expected

    return await wait_for(shown, timeout=10, what=what, interval=0.02)


async def test_tiles_follow_services_and_instances(
    testbed: Cluster,
    objects: Objects,
    processes: ProcessGroup,
    *,
    namespace: str,
    camera: CameraPeer,
    tmp_path: Path,
) -> None:
    config_key, camera_key = f"{namespace}.{CONFIG}-svc", f"{namespace}.{CONFIG}-a1b2c3-svc"
    credentials = await app_credentials(testbed, objects, namespace, tmp_path / "app.kubeconfig")
    app = await start_app(
        processes,
        {
            "KUBECONFIG": str(credentials),
            "CONFIGURATION_NAME": CONFIG,
            "CONFIGURATION_NAMESPACE": namespace,
            "STREAMING_SOURCE_OVERRIDE": camera.address,
        },
    )

    async def synced() -> bool:
        return bool((await app.get_json("/camera_list"))["synced"])

    await wait_for(synced, timeout=15, what="the app's first lists", interval=0.05)
    assert await app.cameras() == []
    timings: dict[str, float] = {}

    service = await objects.create(SERVICE, akri_service(f"{CONFIG}-svc", namespace))
    timings["configuration Service created"] = await follows(app, {config_key}, "its tile")
    cluster_ip = service["spec"]["clusterIP"]

    async def live() -> bool:
        found = {c["key"]: c for c in await app.cameras()}
        return bool(found[config_key]["status"] == "live")

    await wait_for(live, timeout=10, what="frames (from the loopback camera)", interval=0.05)
    [tile] = await app.cameras()
    assert tile["camera"] == "any camera: loop-cam"
    assert tile["any_camera"] is True
    assert tile["source"] == f"{cluster_ip}:80"  # resolved, never dialled

    configuration = await objects.apply(
        CONFIGURATION, kube.configuration(CONFIG, namespace, "x"), field_manager="akri-tests"
    )
    body = kube.instance(f"{CONFIG}-a1b2c3", configuration, ["node-b", "node-a"])
    body["spec"]["brokerProperties"] = {"ONVIF_DEVICE_IP_ADDRESS": "10.1.2.3"}
    await objects.create(INSTANCE, body)
    # Distractors: a Service of another Configuration, one without the controller's label, an
    # Instance of another Configuration with its Service.
    other = await objects.apply(
        CONFIGURATION, kube.configuration("other", namespace, "y"), field_manager="akri-tests"
    )
    await objects.create(INSTANCE, kube.instance("other-d4e5f6", other, ["node-a"]))
    await objects.create(SERVICE, akri_service("other-d4e5f6-svc", namespace))
    await objects.create(SERVICE, akri_service("other-svc", namespace))
    unlabelled = akri_service(f"{CONFIG}-ffffff-svc", namespace)
    unlabelled["metadata"]["labels"] = {}
    await objects.create(SERVICE, unlabelled)

    instance_service = await objects.create(
        SERVICE,
        akri_service(f"{CONFIG}-a1b2c3-svc", namespace, **{"akri.sh/instance": f"{CONFIG}-a1b2c3"}),
    )
    timings["Instance's Service created"] = await follows(
        app, {config_key, camera_key}, "the Instance's tile"
    )
    found = {c["key"]: c for c in await app.cameras()}
    assert found[camera_key]["nodes"] == ["node-a", "node-b"]
    assert found[camera_key]["label"] == "10.1.2.3"
    assert found[camera_key]["source"] == f"{instance_service['spec']['clusterIP']}:80"
    assert [c["key"] for c in await app.cameras()] == [config_key, camera_key]

    await objects.merge_patch(
        INSTANCE, {"spec": {"nodes": ["node-c"]}}, namespace=namespace, name=f"{CONFIG}-a1b2c3"
    )

    async def moved() -> bool:
        found = {c["key"]: c for c in await app.cameras()}
        return bool(found[camera_key]["nodes"] == ["node-c"])

    timings["Instance's nodes changed"] = await wait_for(
        moved, timeout=10, what="the tile's nodes", interval=0.02
    )
    generation = {c["key"]: c["generation"] for c in await app.cameras()}
    await objects.delete(INSTANCE, namespace=namespace, name=f"{CONFIG}-a1b2c3")
    timings["Instance deleted (its Service stays)"] = await follows(
        app, {config_key}, "the Instance's tile gone"
    )
    await objects.create(INSTANCE, body)
    timings["Instance back"] = await follows(app, {config_key, camera_key}, "the tile back")
    back = {c["key"]: c["generation"] for c in await app.cameras()}
    assert back[camera_key] > generation[camera_key]  # a new feed: the page makes a new stream
    await objects.delete(SERVICE, namespace=namespace, name=f"{CONFIG}-svc")
    timings["configuration Service deleted"] = await follows(
        app, {camera_key}, "the configuration's tile gone"
    )
    print("\nwatch mode, change in the API -> /camera_list:")
    for what, seconds in timings.items():
        print(f"  {what:<40} {seconds * 1000:6.0f} ms")
        assert seconds < FOLLOW_WITHIN, what
