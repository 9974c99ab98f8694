"""Container nodes run our images as a user's cluster would: a 2-node container testbed (real
kubelets, containerd, runc, kube-proxy, a CNI bridge) with our images in its registry.

In order: a pod of ours runs where it is pinned, with ``kubectl logs`` and ``exec``; a ClusterIP
Service reaches pods on both nodes from either node; the agent, run as a pod with upstream's
hostPaths, registers its device plugin with the node's kubelet and a broker pod sees, inside its
container, the env, the mounted file and the device node that ``Allocate`` returned; memory limits
really OOM-kill; a kubelet restart keeps the running containers and the plugins register again.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from akri_testbed.cluster import Cluster, container_node, restart_node

from tests.support.images import ImageRefs
from tests.support.kubectl import Kubectl, pod, running, wait_until
from tests.support.pods import kubelet_allocatable

REPO = Path(__file__).resolve().parents[2]
NODES = ("testbed-node-1", "testbed-node-2")

# Container testbeds start in seconds, but the first test of a module also pays for pushing the
# images, the first pulls and, here, `helm install --wait`.
pytestmark = [pytest.mark.containers, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def kubectl(container_testbed: Cluster) -> Kubectl:
    return Kubectl.of(container_testbed)


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false")


def _sleeper(name: str, image: str, node: str, namespace: str, **extra: Any) -> dict[str, Any]:
    return pod(
        name,
        image,
        node=node,
        namespace=namespace,
        command=["python3", "-c", "import signal; signal.sigwait({signal.SIGTERM})"],
        **extra,
    )


def test_a_pod_runs_on_its_node_with_logs_and_exec(
    kubectl: Kubectl, images: ImageRefs, namespace: str
) -> None:
    kubectl.apply(
        pod(
            "echo",
            images.debug_echo_broker,
            node=NODES[1],
            namespace=namespace,
            env={"DEBUG_ECHO_DESCRIPTION": "pinned"},
        )
    )
    found = running(kubectl, "echo", namespace)
    assert found["spec"]["nodeName"] == NODES[1]
    assert found["status"]["podIP"].startswith("10.244.2.")
    logs = wait_until(
        lambda: kubectl("logs", "-n", namespace, "echo"), what="broker logs", timeout=30
    )
    assert "pinned" in logs or "listening" in logs.lower()
    hostname = kubectl.exec(
        namespace, "echo", "python3", "-c", "import socket; print(socket.gethostname())"
    )
    assert hostname.strip() == "echo"


# What each image says when the one setting it cannot do without is missing (no env, no
# service-account token: in a pod the controller looks for its in-cluster credential).
MISSING_SETTING = {
    "agent": "AGENT_NODE_NAME",
    "controller": "in-cluster service account",
    "webhook-configuration": "--tls-crt-file",
    "udev-discovery": "DISCOVERY_HANDLERS_DIRECTORY",
    "onvif-discovery": "DISCOVERY_HANDLERS_DIRECTORY",
    "debug-echo-discovery": "DEBUG_ECHO_INSTANCES_SHARED",
    "debug-echo-broker": "DEBUG_ECHO_DESCRIPTION",
    "udev-broker": "UDEV_DEVNODE",
    "udev-video-broker": "UDEV_DEVNODE",
    "opcua-discovery": "DISCOVERY_HANDLERS_DIRECTORY",
    "opcua-broker": "OPCUA_DISCOVERY_URL",
    "video-streaming-app": "CONFIGURATION_NAME",
    "onvif-video-broker": "ONVIF_PROFILE",
    "go-names-discovery": "DISCOVERY_HANDLERS_DIRECTORY",
}


def _terminated(kubectl: Kubectl, name: str, namespace: str) -> dict[str, Any] | None:
    found = kubectl.get("pod", name, namespace)
    statuses = (found or {}).get("status", {}).get("containerStatuses", [])
    state = statuses[0].get("state", {}).get("terminated") if statuses else None
    return state if state else None


@pytest.mark.parametrize("image", sorted(MISSING_SETTING))
def test_each_image_helps_and_names_a_missing_setting_in_a_container(
    kubectl: Kubectl, images: ImageRefs, namespace: str, image: str
) -> None:
    """Each image's default entrypoint, in a pod: ``--help`` prints its usage and exits 0; with
    no settings it exits non-zero with one line naming the missing one, never a traceback."""
    bare: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
    }
    helped = pod("help", images[image], node=NODES[0], namespace=namespace, **bare)
    helped["spec"]["containers"][0]["args"] = ["--help"]
    kubectl.apply(helped, pod("bare", images[image], node=NODES[1], namespace=namespace, **bare))
    for name, expected_exit in (("help", 0), ("bare", None)):
        state = wait_until(
            functools.partial(_terminated, kubectl, name, namespace),
            what=f"{image} {name} terminated",
            timeout=90,
        )
        logs = kubectl("logs", "-n", namespace, name)
        assert "Traceback" not in logs, logs
        if expected_exit is not None:
            assert state["exitCode"] == 0, (state, logs)
            assert "usage" in logs.lower(), logs
        else:
            assert state["exitCode"] != 0, (state, logs)
            assert MISSING_SETTING[image] in logs.strip().splitlines()[-1], logs


def test_a_cluster_ip_service_reaches_pods_on_both_nodes_from_either(
    kubectl: Kubectl, images: ImageRefs, namespace: str
) -> None:
    for index, node in enumerate(NODES, start=1):
        kubectl.apply(
            pod(
                f"echo-{index}",
                images.debug_echo_broker,
                node=node,
                namespace=namespace,
                labels={"app": "echo"},
                env={"DEBUG_ECHO_DESCRIPTION": f"served-by-{node}"},
            ),
            _sleeper(f"client-{index}", images.debug_echo_broker, node, namespace),
        )
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "echo", "namespace": namespace},
            "spec": {
                "selector": {"app": "echo"},
                "ports": [{"port": 80, "targetPort": images.debug_echo_broker_port}],
            },
        }
    )
    for name in ("echo-1", "echo-2", "client-1", "client-2"):
        running(kubectl, name, namespace)
    service = kubectl.get("service", "echo", namespace)
    assert service is not None
    cluster_ip = service["spec"]["clusterIP"]
    fetch = (
        "import urllib.request, sys\n"
        "seen = set()\n"
        "for _ in range(60):\n"
        f"    seen.add(urllib.request.urlopen('http://{cluster_ip}:80/', timeout=5).read().decode())\n"
        "    if len(seen) == 2: break\n"
        "print(sorted(seen))\n"
    )
    for client in ("client-1", "client-2"):
        answers = wait_until(
            functools.partial(kubectl.exec, namespace, client, "python3", "-c", fetch),
            what=f"the Service from {client}",
            timeout=60,
        )
        for node in NODES:
            assert f"served-by-{node}" in answers, (client, answers)


def test_a_pod_over_its_memory_limit_is_oom_killed(
    kubectl: Kubectl, images: ImageRefs, namespace: str
) -> None:
    kubectl.apply(
        pod(
            "hog",
            images.debug_echo_broker,
            node=NODES[0],
            namespace=namespace,
            command=["python3", "-c", "x = bytearray(256 * 1024 * 1024); print(len(x))"],
            resources={"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}},
            restartPolicy="Never",
        )
    )

    state = wait_until(
        lambda: _terminated(kubectl, "hog", namespace), what="the hog terminated", timeout=90
    )
    assert state["reason"] == "OOMKilled", state
    assert state["exitCode"] == 137


# ---- the agent as a pod, its device plugin, and a broker that gets the device ------------------

AGENT_RBAC = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: akri-agent-sa, namespace: NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: NS-agent}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [nodes], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [secrets, configmaps], verbs: [get, list, watch]}
- {apiGroups: [akri.sh], resources: [instances], verbs: [get, list, watch, create, update, patch, delete]}
- {apiGroups: [akri.sh], resources: [configurations], verbs: [get, list, watch, update, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: NS-agent}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: NS-agent}
subjects: [{kind: ServiceAccount, name: akri-agent-sa, namespace: NS}]
"""


def _agent_pod(image: str, node: str, namespace: str) -> dict[str, Any]:
    """The agent as upstream's chart runs it: the three host directories as hostPaths."""
    host = {
        "discovery-handlers": "/var/lib/akri",
        "device-plugins": "/var/lib/kubelet/device-plugins",
        "pod-resources": "/var/lib/kubelet/pod-resources",
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "agent", "namespace": namespace, "labels": {"app": "agent"}},
        "spec": {
            "nodeName": node,
            "serviceAccountName": "akri-agent-sa",
            "terminationGracePeriodSeconds": 5,
            "containers": [
                {
                    "name": "agent",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "env": [
                        {
                            "name": "AGENT_NODE_NAME",
                            "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
                        },
                        {"name": "DISCOVERY_HANDLERS_DIRECTORY", "value": "/var/lib/akri"},
                    ],
                    "volumeMounts": [{"name": n, "mountPath": p} for n, p in host.items()],
                }
            ],
            "volumes": [{"name": n, "hostPath": {"path": p}} for n, p in host.items()],
        },
    }


@pytest.fixture(scope="module")
def agent_namespace(kubectl: Kubectl, images: ImageRefs) -> Iterator[str]:
    """The agent running as a pod on node 1, the CRDs installed."""
    name = f"akri-{uuid.uuid4().hex[:6]}"
    kubectl("apply", "-f", str(REPO / "helm" / "akri" / "crds"))
    kubectl("create", "namespace", name)
    kubectl("apply", "-f", "-", stdin=AGENT_RBAC.replace("NS", name))
    kubectl.apply(_agent_pod(images.agent, NODES[0], name))
    running(kubectl, "agent", name, timeout=120)
    yield name
    kubectl("delete", "configurations.akri.sh", "--all", "-n", name, "--wait=true", "--timeout=60s")
    kubectl("delete", "namespace", name, "--wait=true", "--timeout=90s")
    kubectl("delete", "clusterrole,clusterrolebinding", f"{name}-agent", "--ignore-not-found")


@pytest.fixture(scope="module")
def static_handler(container_testbed: Cluster, agent_namespace: str) -> Iterator[Path]:
    """The test's discovery handler, as a process on node 1 (in the node's namespaces, serving in
    its /var/lib/akri); returns the node's /var/lib/akri as seen from here."""
    node = container_node(container_testbed, NODES[0])
    holder = container_testbed.process(f"{NODES[0]}/nodeinit")
    handlers_dir = node.host_path("/var/lib/akri")
    (handlers_dir / "static-file").write_text("mounted by Allocate\n")
    log = open(container_testbed.directory / "logs" / "static-handler.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [
            "nsenter",
            f"--target={holder.pid}",
            "--mount",
            "--uts",
            "--net",
            "--",
            sys.executable,
            "-m",
            "tests.support.static_handler",
        ],
        env={
            **os.environ,
            "PYTHONPATH": f"{REPO}:{REPO / 'testbed'}",
            "DISCOVERY_HANDLERS_DIRECTORY": "/var/lib/akri",
            "LOG_FORMAT": "json",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield handlers_dir
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def _configuration(namespace: str) -> dict[str, Any]:
    details = {
        "devices": [
            {
                "id": "dev-a",
                "properties": {"STATIC_DEVICE": "dev-a"},
                "mounts": [
                    {
                        "containerPath": "/akri/file",
                        "hostPath": "/var/lib/akri/static-file",
                        "readOnly": True,
                    }
                ],
                "deviceSpecs": [
                    {
                        "containerPath": "/dev/akri-null",
                        "hostPath": "/dev/null",
                        "permissions": "rw",
                    }
                ],
            }
        ]
    }
    return {
        "apiVersion": "akri.sh/v0",
        "kind": "Configuration",
        "metadata": {"name": "static", "namespace": namespace},
        "spec": {
            "discoveryHandler": {"name": "staticDevices", "discoveryDetails": json.dumps(details)},
            "capacity": 2,
        },
    }


def _instance_name(kubectl: Kubectl, namespace: str) -> str:
    def found() -> str | None:
        items = kubectl.items("instances.akri.sh", namespace)
        return str(items[0]["metadata"]["name"]) if items else None

    name: str = wait_until(found, what="the Instance", timeout=60)
    return name


def _allocatable(kubectl: Kubectl, node: str, resource: str) -> int:
    found = kubectl.get("node", node) or {}
    return int(found.get("status", {}).get("allocatable", {}).get(resource, "0"))


def _broker(name: str, image: str, resource: str, namespace: str) -> dict[str, Any]:
    return _sleeper(
        name,
        image,
        NODES[0],
        namespace,
        resources={"limits": {resource: "1"}, "requests": {resource: "1"}},
    )


def test_allocate_reaches_the_broker_container(
    kubectl: Kubectl, images: ImageRefs, agent_namespace: str, static_handler: Path
) -> None:
    kubectl.apply(_configuration(agent_namespace))
    instance = _instance_name(kubectl, agent_namespace)
    resource = f"akri.sh/{instance}"
    wait_until(
        lambda: _allocatable(kubectl, NODES[0], resource) == 2,
        what=f"{resource} allocatable on {NODES[0]}",
        timeout=60,
    )
    kubectl.apply(_broker("broker", images.debug_echo_broker, resource, agent_namespace))
    running(kubectl, "broker", agent_namespace)
    env = kubectl.exec(agent_namespace, "broker", "env")
    assert "STATIC_DEVICE=dev-a" in env
    assert kubectl.exec(agent_namespace, "broker", "cat", "/akri/file") == "mounted by Allocate\n"
    mode = kubectl.exec(
        agent_namespace,
        "broker",
        "python3",
        "-c",
        "import os, stat; print(stat.S_ISCHR(os.stat('/dev/akri-null').st_mode))",
    )
    assert mode.strip() == "True"


def test_a_kubelet_restart_keeps_containers_and_plugins_register_again(
    container_testbed: Cluster, kubectl: Kubectl, images: ImageRefs, agent_namespace: str
) -> None:
    instance = _instance_name(kubectl, agent_namespace)
    resource = f"akri.sh/{instance}"

    def containers() -> dict[str, tuple[str, int]]:
        found = {}
        for item in kubectl.items("pods", agent_namespace):
            for status in item["status"].get("containerStatuses", []):
                found[item["metadata"]["name"]] = (status["containerID"], status["restartCount"])
        return found

    before = containers()
    assert set(before) >= {"agent", "broker"}
    kubelet_sock = container_node(container_testbed, NODES[0]).device_plugin_dir / "kubelet.sock"
    old = kubelet_sock.stat()
    restart_node(container_testbed, NODES[0])
    new = kubelet_sock.stat()  # the new kubelet made a new registration socket
    assert (new.st_ino, new.st_ctime_ns) != (old.st_ino, old.st_ctime_ns)
    # The plugin registers with the new kubelet: a second broker is admitted on the same device
    # once the kubelet holds it healthy again (a pod arriving before the plugin has registered
    # and sent its devices is rejected by any kubelet: "no healthy devices present").
    socket = container_node(container_testbed, NODES[0]).pod_resources_socket
    wait_until(
        lambda: bool(kubelet_allocatable(socket).get(resource)),
        what=f"the restarted kubelet holding {resource} healthy",
        timeout=30,
    )
    kubectl.apply(_broker("broker-2", images.debug_echo_broker, resource, agent_namespace))
    running(kubectl, "broker-2", agent_namespace)
    after = containers()
    for name in ("agent", "broker"):
        assert after[name] == before[name], (name, before[name], after[name])
