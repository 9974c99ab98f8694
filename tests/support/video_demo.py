"""The video demo on the 2-node container testbed, for the e2e test and the benchmark: simulated
ONVIF cameras on the node network, the chart with the ONVIF video broker, the streaming app
deployed from ``akri_streaming.manifest``, and its page forwarded to this machine's loopback.

The app's Service lives on the testbed's own network (its ClusterIP answers inside the nodes'
namespaces, where kube-proxy programs it). ``akri_testbed.forward`` listens on 127.0.0.1 here and
connects, from inside node 1's network namespace, to that ClusterIP, so a browser on this machine
opens the page as a user's browser opens a Service's address.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from akri_testbed.cluster import Cluster, container_node, free_ports
from akri_testbed.netns import NETNS_DIR

from akri_streaming.manifest import NAME, manifests
from demo.cameras import SimulatedCamera
from tests.support.helm import CHART, helm_binary
from tests.support.kubectl import Kubectl, wait_until

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "akri"
RELEASE = "akri"
VALUES = REPO / "examples" / "helm" / "onvif-video.yaml"
CONFIGURATION = "akri-onvif-video"


def cameras(prefix: str, first_ip: int, count: int) -> list[SimulatedCamera]:
    return [
        SimulatedCamera(
            f"{prefix}{i}",
            f"10.200.0.{first_ip + i}",
            uuid := f"5e1f0b7a-3c2d-4e6f-9a8b-{prefix.encode().hex()[:8].ljust(8, '0')}{i:04d}",
            f"{prefix}-cam-{i}",
            f"02:00:00:00:0d:{uuid[-2:]}",
        )
        for i in range(count)
    ]


def helm(cluster: Cluster, *args: str, timeout: float = 400) -> str:
    with tempfile.TemporaryDirectory(prefix="akri-helm-") as tmp:
        result = subprocess.run(
            [str(helm_binary()), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={
                "HOME": tmp,
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "KUBECONFIG": str(cluster.kubeconfig),
            },
        )
    assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stderr}{result.stdout}"
    return result.stdout


def install(cluster: Cluster) -> None:
    helm(
        cluster,
        *("upgrade", "--install", RELEASE, str(CHART), "-n", NAMESPACE, "--create-namespace"),
        *("--wait", "--timeout", "240s", "-f", str(VALUES)),
    )


def uninstall(cluster: Cluster, kubectl: Kubectl) -> None:
    subprocess.run(
        [str(helm_binary()), "uninstall", RELEASE, "-n", NAMESPACE, "--wait"],
        env={"KUBECONFIG": str(cluster.kubeconfig), "HOME": "/tmp"},
        capture_output=True,
        check=False,
        timeout=180,
    )
    # kubectl's own deadline, inside the call's: a slow namespace deletion is no teardown error.
    kubectl.run(
        "delete", "namespace", NAMESPACE, "--wait=true", "--timeout=120s", check=False, timeout=150
    )


def deploy_app(kubectl: Kubectl, image: str) -> dict[str, Any]:
    """The app from the manifest generator, in the chart's namespace; returns its Running pod."""
    kubectl.apply(*manifests(namespace=NAMESPACE, configuration=CONFIGURATION, image=image))

    def ready() -> dict[str, Any] | None:
        for found in kubectl.items("pods", NAMESPACE, f"app.kubernetes.io/name={NAME}"):
            statuses = found["status"].get("containerStatuses", [])
            if (
                found["status"].get("phase") == "Running"
                and not found["metadata"].get("deletionTimestamp")
                and statuses
                and all(s.get("ready") for s in statuses)
            ):
                return found
        return None

    pod: dict[str, Any] = wait_until(ready, what="the streaming app Ready", timeout=180)
    return pod


def forward_app(
    cluster: Cluster, kubectl: Kubectl, log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """A forwarder from 127.0.0.1:<port> here to the app's Service, inside node 1's network."""
    service = kubectl.get("service", NAME, NAMESPACE)
    assert service is not None
    cluster_ip = service["spec"]["clusterIP"]
    node = container_node(cluster, cluster.nodes[0].name)
    (port,) = free_ports(1)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "akri_testbed.forward",
                "--netns", str(NETNS_DIR / node.netns),
                f"127.0.0.1:{port}={cluster_ip}:80",
            ],
            env={**os.environ, "PYTHONPATH": str(REPO / "testbed")},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, port


def camera_instances(kubectl: Kubectl, uuids: set[str]) -> dict[str, dict[str, Any]]:
    """Instance name → Instance, for the Instances of the cameras ``uuids``."""
    return {
        i["metadata"]["name"]: i
        for i in kubectl.items("instances.akri.sh", NAMESPACE)
        if i["spec"].get("brokerProperties", {}).get("ONVIF_DEVICE_UUID") in uuids
    }


def tile_key(instance: str) -> str:
    return f"{NAMESPACE}.{instance.replace('.', '-')}-svc"


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
