"""The testbed itself (issue 3): the real control plane serves Akri's CRDs to the real kubectl,
garbage-collects pods, and its nodes run the kubelet's device manager for a real v1beta1 plugin;
the built helm renders a chart offline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from akri_testbed import restart_node
from akri_testbed.binaries import locate
from akri_testbed.cluster import Cluster

from akri_common.k8s.errors import NotFoundError
from akri_common.k8s.objects import CONFIGURATION, INSTANCE, POD, JsonObject, Kind, Objects
from akri_proto.podresources.v1 import api_pb2 as pr
from akri_proto.podresources.v1 import api_pb2_grpc as pr_grpc
from tests.support import kube
from tests.support.pods import create_pod, node_resources, pod_body, run_options, running_pod
from tests.support.processes import wait_for

CONFIG_MAP = Kind("ConfigMap", "", "v1", "configmaps")
STUB = "akri-testbed-stub-plugin"
STOP_DEADLINE = 10.0


@pytest.fixture
async def objects(testbed: Cluster) -> AsyncIterator[Objects]:
    async with kube.api(testbed.kubeconfig) as client:
        yield client


@pytest.fixture
async def namespace(objects: Objects) -> AsyncIterator[str]:
    name = f"tb-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, name)
    yield name
    with contextlib.suppress(NotFoundError):
        await objects.delete(kube.NAMESPACE, namespace=None, name=name)


def kubectl(testbed: Cluster, *args: str) -> str:
    """Runs the built kubectl against the testbed; fails the test with its stderr if it fails."""
    result = subprocess.run(
        [str(locate(build=False)["kubectl"]), "--kubeconfig", str(testbed.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


def instance_body(name: str, namespace: str, configuration: str, node: str) -> JsonObject:
    return {
        "apiVersion": "akri.sh/v0",
        "kind": "Instance",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "configurationName": configuration,
            "cdiName": f"akri.sh/{configuration}=8120fe",
            "capacity": 1,
            "brokerProperties": {"DEBUG_ECHO_DESCRIPTION": "foo0"},
            "shared": False,
            "nodes": [node],
            "deviceUsage": {},
        },
    }


async def test_kubectl_gets_akri_objects_by_short_name(
    testbed: Cluster, objects: Objects, namespace: str
) -> None:
    await kube.install_crds(objects)
    await objects.create(CONFIGURATION, kube.configuration("cams", namespace, "foo0"))
    await objects.create(
        INSTANCE, instance_body("cams-8120fe", namespace, "cams", testbed.nodes[0].name)
    )

    by_short_name = kubectl(testbed, "get", "akric,akrii", "-n", namespace, "-o", "name")
    assert by_short_name.split() == [
        "configuration.akri.sh/cams",
        "instance.akri.sh/cams-8120fe",
    ]
    table = kubectl(testbed, "get", "akrii", "-n", namespace)
    assert table.splitlines()[0].split()[0] == "NAME"
    assert "cams-8120fe" in table
    # Both CRDs are in category "all".
    everything = kubectl(testbed, "get", "all", "-n", namespace, "-o", "name").split()
    assert "configuration.akri.sh/cams" in everything
    assert "instance.akri.sh/cams-8120fe" in everything
    version = json.loads(kubectl(testbed, "version", "-o", "json"))
    assert version["clientVersion"]["gitVersion"] == "v1.37.2"
    assert version["serverVersion"]["gitVersion"] == "v1.37.2"


async def test_deleting_owner_garbage_collects_bound_pod(
    testbed: Cluster, objects: Objects, namespace: str
) -> None:
    owner = await objects.create(
        CONFIG_MAP,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "owner", "namespace": namespace},
            "data": {"k": "v"},
        },
    )
    body = pod_body("dependent", namespace, "cpu")
    body["spec"]["containers"][0]["resources"] = {}
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "owner",
            "uid": owner["metadata"]["uid"],
        }
    ]
    await create_pod(objects, body)
    pod = await running_pod(objects, namespace, "dependent")
    assert pod["spec"]["nodeName"] in {n.name for n in testbed.nodes}
    uid = pod["metadata"]["uid"]

    await objects.delete(CONFIG_MAP, namespace=namespace, name="owner")

    async def collected() -> bool:
        try:
            current = await objects.get(POD, namespace=namespace, name="dependent")
        except NotFoundError:
            return True
        assert current["metadata"]["uid"] == uid
        return False

    await wait_for(collected, timeout=60, what="the dependent pod to be collected", interval=0.2)


@contextlib.asynccontextmanager
async def stub_plugin(directory: Path, log: Path, devices: int) -> AsyncIterator[None]:
    """Kubernetes' stub device plugin registering with the node whose plugin directory this is."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            str(locate(build=False)[STUB]),
            f"--device-plugin-dir={directory}",
            f"--devices={devices}",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    try:
        yield
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), STOP_DEADLINE)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def allocatable(objects: Objects, node: str, resource: str) -> str | None:
    _, alloc = await node_resources(objects, node)
    return alloc.get(resource)


def identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_ctime_ns


def pod_resources_devices(socket: Path, namespace: str, name: str) -> dict[str, list[str]]:
    """Device ids by resource that the node's pod-resources v1 List reports for the pod."""
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        response = pr_grpc.PodResourcesListerStub(channel).List(
            pr.ListPodResourcesRequest(), timeout=5
        )
    found: dict[str, list[str]] = {}
    for pod in response.pod_resources:
        if pod.namespace == namespace and pod.name == name:
            for container in pod.containers:
                for devices in container.devices:
                    found.setdefault(devices.resource_name, []).extend(devices.device_ids)
    return found


async def test_stub_plugin_on_node_one_then_node_restart(
    testbed: Cluster, objects: Objects, namespace: str, tmp_path: Path
) -> None:
    node1, node2 = testbed.nodes[0], testbed.nodes[1]
    resource = "testbed.akri.sh/stub"
    kubelet_sock = node1.device_plugin_dir / "kubelet.sock"
    plugin_sock = node1.device_plugin_dir / "testbed_akri_sh_stub.sock"

    async with stub_plugin(node1.device_plugin_dir, tmp_path / "stub.log", devices=2):

        async def advertised() -> bool:
            return await allocatable(objects, node1.name, resource) == "2"

        await wait_for(advertised, timeout=30, what="node 1 to advertise 2 stub devices")

        await create_pod(objects, pod_body("user", namespace, resource))  # the scheduler binds it
        pod = await running_pod(objects, namespace, "user")
        assert pod["spec"]["nodeName"] == node1.name

        (container,) = run_options(node1.run_options_dir, pod)["containers"]
        ids: list[str] = container["deviceIds"][resource]
        assert len(ids) == 1
        assert ids[0] in {"dev-0", "dev-1"}
        # Exactly what the stub's Allocate returned for that id.
        assert container["env"]["STUB_DEVICES"] == ids[0]
        assert container["annotations"]["testbed.akri.sh/devices"] == ids[0]
        assert container["mounts"] == [
            {
                "containerPath": f"/run/stub/{ids[0]}",
                "hostPath": f"/tmp/stub/{ids[0]}",
                "readOnly": True,
            }
        ]
        assert container["devices"] == [
            {
                "pathOnHost": "/dev/null",
                "pathInContainer": f"/dev/stub-{ids[0]}",
                "permissions": "rw",
            }
        ]
        assert pod_resources_devices(node1.pod_resources_socket, namespace, "user") == {
            resource: ids
        }

        # The second node never sees the resource.
        capacity2, allocatable2 = await node_resources(objects, node2.name)
        assert resource not in capacity2
        assert resource not in allocatable2
        assert not any(node2.device_plugin_dir.glob("testbed_akri_sh_stub*"))

        # A kubelet restart: kubelet.sock is removed and re-created, the plugin's socket is
        # removed, and the plugin registers again (the stub watches kubelet.sock).
        old_kubelet, old_plugin = identity(kubelet_sock), identity(plugin_sock)
        assert old_kubelet is not None
        assert old_plugin is not None
        restart_node(testbed, node1.name)
        new_kubelet = identity(kubelet_sock)
        assert new_kubelet is not None
        assert new_kubelet != old_kubelet

        async def re_registered() -> bool:
            current = identity(plugin_sock)
            return current not in (None, old_plugin) and (
                await allocatable(objects, node1.name, resource) == "2"
            )

        await wait_for(re_registered, timeout=40, what="the stub to re-register and be advertised")
        log_since_restart = node1.log.read_text().rsplit("node ready", 1)[-1]
        assert resource in log_since_restart
        # The running pod kept its device across the restart.
        pod = await running_pod(objects, namespace, "user")
        assert pod_resources_devices(node1.pod_resources_socket, namespace, "user") == {
            resource: ids
        }

    await objects.delete(POD, namespace=namespace, name="user")

    async def withdrawn() -> bool:
        return await allocatable(objects, node1.name, resource) == "0"

    await wait_for(withdrawn, timeout=30, what="node 1 to withdraw the stopped plugin's devices")
    capacity2, allocatable2 = await node_resources(objects, node2.name)
    assert resource not in capacity2
    assert resource not in allocatable2


def write_chart(root: Path) -> Path:
    chart = root / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "v2", "name": "demo", "version": "0.1.0", "appVersion": "1.0"}
        )
    )
    (chart / "values.yaml").write_text(yaml.safe_dump({"greeting": "hello", "replicas": 2}))
    (chart / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: {{ .Release.Name }}-demo\n"
        "  labels:\n"
        "    app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}\n"
        "data:\n"
        "  greeting: {{ .Values.greeting | quote }}\n"
        "  replicas: {{ .Values.replicas | quote }}\n"
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
    )
    return chart


def test_helm_lint_and_template_offline(tmp_path: Path) -> None:
    chart = write_chart(tmp_path)
    home = tmp_path / "helm-home"
    # Offline: every proxy points at a closed port, and helm's directories are empty.
    dead = "http://127.0.0.1:9"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "http_proxy": dead,
        "https_proxy": dead,
        "NO_PROXY": "",
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
    }
    helm = str(locate(build=False)["helm"])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [helm, *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    lint = run("lint", str(chart))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in lint.stdout

    rendered = run("template", "rel", str(chart), "--set", "greeting=hi")
    assert rendered.returncode == 0, rendered.stderr
    (doc,) = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    manifest: dict[str, Any] = doc
    assert manifest["metadata"]["name"] == "rel-demo"
    assert manifest["data"] == {"greeting": "hi", "replicas": "2", "kube": "v1.37.0"}

    (chart / "templates" / "broken.yaml").write_text("kind: {{ .Values.missing.field }}\n")
    broken = run("lint", str(chart))
    assert broken.returncode != 0
    assert "nil pointer" in broken.stdout + broken.stderr
