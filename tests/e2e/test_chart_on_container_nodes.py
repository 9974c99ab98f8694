"""The chart as users run it: ``helm install``, ``helm upgrade`` and ``helm uninstall`` of
``helm/akri`` on the 2-node container testbed, with our images pulled by real kubelets.

In order (one release, the tests build on each other): install with debugEcho discovery and
configuration and our broker; the webhook from the chart refuses a bad Configuration; an upgrade
that drops one description removes that device and touches nothing else; the webhook still works
after the upgrade; ``helm uninstall`` leaves a clean cluster (the CRDs stay) and a second install
works.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from akri_testbed.cluster import Cluster, add_host, container_node

from tests.support.helm import CHART, helm_binary
from tests.support.images import ImageRefs
from tests.support.kubectl import Kubectl, KubectlError, pod, running, wait_until

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "akri"
RELEASE = "akri"
NODES = ("testbed-node-1", "testbed-node-2")
INSTALL_TIMEOUT = "240s"
DEBUG_ECHO_VALUES = REPO / "examples" / "helm" / "debug-echo.yaml"
ONVIF_VALUES = REPO / "examples" / "helm" / "onvif.yaml"
GO_VALUES = REPO / "examples" / "helm" / "go-names.yaml"

# Container testbeds start in seconds, but the first test of a module also pays for pushing the
# images, the first pulls and, here, `helm install --wait`.
pytestmark = [pytest.mark.containers, pytest.mark.timeout(600)]


def _helm(cluster: Cluster, *args: str, values: dict[str, Any] | None = None) -> str:
    with tempfile.TemporaryDirectory(prefix="akri-helm-") as tmp:
        extra: list[str] = []
        if values is not None:
            path = Path(tmp) / "values.yaml"
            path.write_text(yaml.safe_dump(values))
            extra = ["-f", str(path)]
        result = subprocess.run(
            [str(helm_binary()), *args, *extra],
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
            env={
                "HOME": tmp,
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "KUBECONFIG": str(cluster.kubeconfig),
            },
        )
    assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stderr}{result.stdout}"
    return result.stdout


def _install(cluster: Cluster, *extra: str) -> str:
    return _helm(
        cluster,
        "upgrade",
        "--install",
        RELEASE,
        str(CHART),
        "-n",
        NAMESPACE,
        "--create-namespace",
        "--wait",
        "--timeout",
        INSTALL_TIMEOUT,
        "-f",
        str(DEBUG_ECHO_VALUES),
        *extra,
    )


@pytest.fixture(scope="module")
def kubectl(container_testbed: Cluster) -> Kubectl:
    return Kubectl.of(container_testbed)


@pytest.fixture(scope="module")
def release(container_testbed: Cluster, kubectl: Kubectl, images: ImageRefs) -> Iterator[None]:
    """The release, installed once for the module; uninstalled at the end whatever happened."""
    _install(container_testbed)
    try:
        yield
    finally:
        subprocess.run(
            [
                str(helm_binary()),
                "uninstall",
                RELEASE,
                "-n",
                NAMESPACE,
                "--wait",
                "--timeout",
                "120s",
            ],
            env={"KUBECONFIG": str(container_testbed.kubeconfig), "HOME": "/tmp"},
            capture_output=True,
            check=False,
        )
        kubectl.run("delete", "namespace", NAMESPACE, "--wait=true", "--timeout=120s", check=False)


def _pods(kubectl: Kubectl, selector: str) -> list[dict[str, Any]]:
    return kubectl.items("pods", NAMESPACE, selector)


def _uids(kubectl: Kubectl, selector: str) -> dict[str, str]:
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in _pods(kubectl, selector)}


def _running_on_both_nodes(kubectl: Kubectl, selector: str) -> list[dict[str, Any]]:
    def ready() -> list[dict[str, Any]] | None:
        pods = _pods(kubectl, selector)
        nodes = {
            p["spec"].get("nodeName")
            for p in pods
            if p["status"].get("phase") == "Running"
            and all(s.get("ready") for s in p["status"].get("containerStatuses", [{}]))
        }
        return pods if nodes == set(NODES) else None

    found: list[dict[str, Any]] = wait_until(ready, what=f"{selector} on both nodes", timeout=120)
    return found


def _instances(kubectl: Kubectl) -> dict[str, dict[str, Any]]:
    return {i["metadata"]["name"]: i for i in kubectl.items("instances.akri.sh", NAMESPACE)}


def _description(instance: dict[str, Any]) -> str:
    return str(instance["spec"]["brokerProperties"].get("DEBUG_ECHO_DESCRIPTION", ""))


def _brokers(kubectl: Kubectl) -> list[dict[str, Any]]:
    return [
        p
        for p in kubectl.items("pods", NAMESPACE)
        if p["metadata"].get("labels", {}).get("akri.sh/instance")
    ]


def _client(kubectl: Kubectl, images: ImageRefs) -> str:
    """A pod on node 2 to call Services from (created once)."""
    if kubectl.get("pod", "client", NAMESPACE) is None:
        body = pod(
            "client",
            images.debug_echo_broker,
            node=NODES[1],
            namespace=NAMESPACE,
            command=["python3", "-c", "import signal; signal.sigwait({signal.SIGTERM})"],
        )
        kubectl.apply(body)
    running(kubectl, "client", NAMESPACE)
    return "client"


def _fetch(kubectl: Kubectl, client: str, address: str) -> str:
    code = f"import urllib.request; print(urllib.request.urlopen('http://{address}/', timeout=5).read().decode())"
    return kubectl.exec(NAMESPACE, client, "python3", "-c", code)


def test_install_runs_every_part_and_brokers_get_their_device(
    kubectl: Kubectl, images: ImageRefs, release: None
) -> None:
    _running_on_both_nodes(kubectl, "app.kubernetes.io/name=akri-agent")
    _running_on_both_nodes(kubectl, "app.kubernetes.io/name=akri-debug-echo-discovery")
    instances = wait_until(
        lambda: (
            (found := _instances(kubectl))
            and {_description(i) for i in found.values()} == {"foo0", "foo1"}
            and all(sorted(i["spec"]["nodes"]) == list(NODES) for i in found.values())
            and found
        ),
        what="an Instance per description on both nodes",
        timeout=120,
    )
    brokers = wait_until(
        lambda: (
            (found := _brokers(kubectl))
            and len([p for p in found if p["status"].get("phase") == "Running"]) == 4
            and found
        ),
        what="a Running broker per device and node",
        timeout=180,
    )
    for broker in brokers:
        instance = instances[broker["metadata"]["labels"]["akri.sh/instance"]]
        env = kubectl.exec(NAMESPACE, broker["metadata"]["name"], "env")
        assert f"DEBUG_ECHO_DESCRIPTION={_description(instance)}" in env, env
    client = _client(kubectl, images)
    services = {s["metadata"]["name"]: s for s in kubectl.items("services", NAMESPACE)}
    for name, instance in instances.items():
        service = services[f"{name}-svc"]
        answer = wait_until(
            functools.partial(_fetch, kubectl, client, f"{service['spec']['clusterIP']}:80"),
            what=f"the instance Service {name}-svc",
            timeout=60,
        )
        assert _description(instance) in answer, answer
    configuration_service = services["akri-debug-echo-svc"]
    answer = wait_until(
        lambda: _fetch(kubectl, client, f"{configuration_service['spec']['clusterIP']}:80"),
        what="the configuration Service",
        timeout=60,
    )
    assert "foo" in answer


def _bad_configuration() -> dict[str, Any]:
    return {
        "apiVersion": "akri.sh/v0",
        "kind": "Configuration",
        "metadata": {"name": "typo", "namespace": NAMESPACE},
        "spec": {
            "discoveryHandler": {"name": "debugEcho", "discoveryDetails": "descriptions: [a]"},
            "brokerSpec": {
                "brokerPodSpec": {
                    "containers": [{"name": "b", "image": "x", "imagePulPolicy": "Always"}]
                }
            },
        },
    }


def _webhook_refuses(kubectl: Kubectl) -> str:
    try:
        kubectl.apply(_bad_configuration())
    except KubectlError as err:
        return str(err)
    kubectl.run("delete", "configurations.akri.sh", "typo", "-n", NAMESPACE, check=False)
    raise AssertionError("a Configuration with a misspelt broker pod field was admitted")


def test_the_chart_webhook_refuses_a_bad_configuration_naming_the_field(
    kubectl: Kubectl, release: None
) -> None:
    message = _webhook_refuses(kubectl)
    # The CRD keeps the pod spec free-form: only our webhook (checking it against the cluster's own
    # schema, answering 422 Invalid with the field) refuses this.
    assert 'imagePulPolicy: unknown field (did you mean "imagePullPolicy"?)' in message, message


def test_an_upgrade_dropping_a_description_removes_only_that_device(
    container_testbed: Cluster, kubectl: Kubectl, release: None
) -> None:
    parts = "app.kubernetes.io/part-of=akri"
    before_parts = _uids(kubectl, parts)
    instances = _instances(kubectl)
    keep = {n: i["metadata"]["uid"] for n, i in instances.items() if _description(i) == "foo0"}
    gone = [n for n, i in instances.items() if _description(i) == "foo1"]
    kept_brokers = {
        p["metadata"]["name"]: p["metadata"]["uid"]
        for p in _brokers(kubectl)
        if p["metadata"]["labels"]["akri.sh/instance"] in keep
    }
    assert len(keep) == 1
    assert len(gone) == 1
    assert len(kept_brokers) == 2
    _install(
        container_testbed, "--set", "debugEcho.configuration.discoveryDetails.descriptions={foo0}"
    )
    wait_until(
        lambda: set(_instances(kubectl)) == set(keep),
        what="the foo1 Instance removed",
        timeout=60,
    )
    wait_until(
        lambda: (
            {p["metadata"]["labels"]["akri.sh/instance"] for p in _brokers(kubectl)} == set(keep)
        ),
        what="the foo1 brokers removed",
        timeout=90,
    )
    assert {n: i["metadata"]["uid"] for n, i in _instances(kubectl).items()} == keep
    after_brokers = {p["metadata"]["name"]: p["metadata"]["uid"] for p in _brokers(kubectl)}
    assert after_brokers == kept_brokers
    after_parts = _uids(kubectl, parts)
    assert {k: v for k, v in after_parts.items() if k in before_parts} == before_parts
    # The webhook still answers, with the same or a rotated certificate, after the upgrade.
    assert "imagePulPolicy" in _webhook_refuses(kubectl)


CAMERA_IP = "10.200.0.100"
CAMERA_UUID = "0a3ec5b4-6f4e-4d8a-9c1e-1d2c3b4a5f60"


@pytest.fixture
def camera(container_testbed: Cluster) -> Iterator[str]:
    """A simulated ONVIF camera on the node network, in a namespace of its own."""
    netns_path = add_host(container_testbed, "cam1", CAMERA_IP)
    log = open(container_testbed.directory / "logs" / "camera.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [
            "nsenter",
            f"--net={netns_path}",
            "--",
            sys.executable,
            "-m",
            "tests.integration.onvif_support.camera",
            "--ip",
            CAMERA_IP,
            "--uuid",
            CAMERA_UUID,
            "--mac",
            "02:00:00:00:01:00",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield CAMERA_UUID
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def test_an_upgrade_adding_onvif_finds_a_camera_and_restarts_nothing_else(
    container_testbed: Cluster, kubectl: Kubectl, release: None, camera: str
) -> None:
    parts = "app.kubernetes.io/part-of=akri"
    before_parts = _uids(kubectl, parts)
    before_brokers = {p["metadata"]["name"]: p["metadata"]["uid"] for p in _brokers(kubectl)}
    _install(
        container_testbed,
        "--set",
        "debugEcho.configuration.discoveryDetails.descriptions={foo0}",
        "-f",
        str(ONVIF_VALUES),
    )
    _running_on_both_nodes(kubectl, "app.kubernetes.io/name=akri-onvif-discovery")

    def camera_instance() -> dict[str, Any] | None:
        for instance in _instances(kubectl).values():
            if instance["spec"]["brokerProperties"].get("ONVIF_DEVICE_UUID") == camera:
                return instance
        return None

    instance = wait_until(camera_instance, what="the camera's Instance", timeout=120)
    assert instance["spec"]["brokerProperties"]["ONVIF_DEVICE_IP_ADDRESS"] == CAMERA_IP
    name = instance["metadata"]["name"]
    wait_until(
        lambda: any(
            p["metadata"]["labels"]["akri.sh/instance"] == name
            and p["status"].get("phase") == "Running"
            for p in _brokers(kubectl)
        ),
        what="a Running broker for the camera",
        timeout=180,
    )
    after_parts = _uids(kubectl, parts)
    assert {k: v for k, v in after_parts.items() if k in before_parts} == before_parts
    after_brokers = {p["metadata"]["name"]: p["metadata"]["uid"] for p in _brokers(kubectl)}
    assert {k: v for k, v in after_brokers.items() if k in before_brokers} == before_brokers


def test_an_upgrade_with_the_custom_blocks_runs_the_go_handler(
    container_testbed: Cluster, kubectl: Kubectl, release: None
) -> None:
    """A handler in another language through ``custom.discovery``/``custom.configuration``: the
    Go example's devices become Instances with brokers."""
    _install(
        container_testbed,
        "--set",
        "debugEcho.configuration.discoveryDetails.descriptions={foo0}",
        "-f",
        str(ONVIF_VALUES),
        "-f",
        str(GO_VALUES),
    )
    _running_on_both_nodes(kubectl, "app.kubernetes.io/name=akri-go-names-discovery")

    def go_instances() -> dict[str, dict[str, Any]] | None:
        found = {
            n: i
            for n, i in _instances(kubectl).items()
            if i["spec"]["configurationName"] == "akri-go-names"
        }
        names = {i["spec"]["brokerProperties"].get("GO_DEVICE_NAME") for i in found.values()}
        return found if names == {"alpha", "beta"} else None

    instances = wait_until(go_instances, what="an Instance per Go device", timeout=120)
    wait_until(
        lambda: (
            {
                p["metadata"]["labels"]["akri.sh/instance"]
                for p in _brokers(kubectl)
                if p["status"].get("phase") == "Running"
            }
            >= set(instances)
        ),
        what="Running brokers for the Go devices",
        timeout=180,
    )


def test_uninstall_leaves_a_clean_cluster_and_a_second_install_works(
    container_testbed: Cluster, kubectl: Kubectl, release: None
) -> None:
    _helm(container_testbed, "uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "180s")
    assert kubectl.items("configurations.akri.sh", None) == []

    def leftovers() -> dict[str, list[str]]:
        found = {}
        for kind in (
            "instances.akri.sh",
            "pods",
            "jobs",
            "services",
            "daemonsets",
            "deployments",
            "serviceaccounts",
            "roles",
            "rolebindings",
        ):
            names = [
                i["metadata"]["name"]
                for i in kubectl.items(kind, NAMESPACE)
                if i["metadata"]["name"] not in ("default", "client")
                and not i["metadata"]["name"].startswith("kube-root-ca")
            ]
            if names:
                found[kind] = names
        secrets = [
            s["metadata"]["name"]
            for s in kubectl.items("secrets", NAMESPACE)
            if s.get("type") != "kubernetes.io/service-account-token"
        ]
        if secrets:
            found["secrets"] = secrets
        for kind in ("clusterroles", "clusterrolebindings", "validatingwebhookconfigurations"):
            names = [
                i["metadata"]["name"]
                for i in kubectl.items(kind, None, f"app.kubernetes.io/instance={RELEASE}")
            ]
            if names:
                found[kind] = names
        sockets = [
            f"{node}:{path.name}"
            for node in NODES
            for path in container_node(container_testbed, node).device_plugin_dir.glob("*.sock")
            if path.name != "kubelet.sock"
        ]
        if sockets:
            found["plugin sockets"] = sockets
        return found

    wait_until(lambda: not leftovers(), what="nothing of the release left", timeout=120)
    assert kubectl.get("crd", "configurations.akri.sh") is not None
    assert kubectl.get("crd", "instances.akri.sh") is not None
    _install(container_testbed)
    wait_until(
        lambda: len(_instances(kubectl)) == 2, what="Instances after a reinstall", timeout=120
    )
