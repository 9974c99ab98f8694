"""The ONVIF video demo's path on the 2-node container testbed: ``helm install`` with
``examples/helm/onvif-video.yaml``, three simulated cameras on the node network (each in a
namespace of its own), the ONVIF handler describing their media, and our video broker pods pulled
by real kubelets serving each camera's frames behind its instance Service.

``GetFrame`` is called the way upstream's streaming app calls it: from a pod, through the
Service's ClusterIP on port 80 (kube-proxy maps it to a broker's 8083). The client pod runs the
video broker's own image (it has grpcio and the generated ``camera`` stubs) with a small Python
snippet under ``kubectl exec``. Each frame's COM segment names the camera it came from.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from akri_testbed.cluster import Cluster, add_host

from tests.integration.onvif_support.footage import fields
from tests.support.helm import CHART, helm_binary
from tests.support.images import ImageRefs
from tests.support.kubectl import Kubectl, pod, running, wait_until

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "akri"
RELEASE = "akri"
VALUES = REPO / "examples" / "helm" / "onvif-video.yaml"
CLIENT_NODE = "testbed-node-2"
# (netns suffix, ip, uuid, name drawn on the footage)
CAMERAS = (
    ("vcam1", "10.200.0.121", "7c1d3a52-0b5e-4f2a-8d11-00000000c001", "north-gate"),
    ("vcam2", "10.200.0.122", "7c1d3a52-0b5e-4f2a-8d11-00000000c002", "loading-dock"),
    ("vcam3", "10.200.0.123", "7c1d3a52-0b5e-4f2a-8d11-00000000c003", "lobby"),
)
NAME_BY_UUID = {uuid: name for _, _, uuid, name in CAMERAS}

pytestmark = [pytest.mark.containers, pytest.mark.timeout(600)]

# Runs in the client pod: GetFrame on each target; one JSON line, frames in base64.
GET_FRAMES = """
import base64, json, sys, grpc
from akri_proto.camera import camera_pb2 as pb, camera_pb2_grpc as rpc
answers = []
for target in sys.argv[1:]:
    options = [("grpc.max_receive_message_length", 8 << 20)]
    with grpc.insecure_channel(target, options=options) as channel:
        try:
            reply = rpc.CameraStub(channel).GetFrame(pb.NotifyRequest(), timeout=5)
        except grpc.RpcError as err:
            answers.append({"target": target, "error": f"{err.code().name}: {err.details()}"})
            continue
    answers.append({"target": target, "camera": reply.camera,
                    "frame": base64.b64encode(reply.frame).decode()})
print(json.dumps(answers))
"""

# Runs in a broker pod: its RSS and its cgroup (v2) path, whose working set the test reads on the
# host (the container has no cgroup mount).
MEMORY = """
import json
rss = next(l.split()[1] for l in open("/proc/1/status") if l.startswith("VmRSS:"))
path = open("/proc/1/cgroup").read().strip().split("::", 1)[-1]
print(json.dumps({"rss_kib": int(rss), "cgroup": path}))
"""


def _working_set_kib(cgroup: str) -> int | None:
    """memory.current - inactive_file of a container's cgroup, as the kubelet counts it."""
    folder = Path("/sys/fs/cgroup") / cgroup.lstrip("/")
    try:
        current = int((folder / "memory.current").read_text())
        stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
    except (OSError, ValueError):
        return None
    return (current - int(stat["inactive_file"])) // 1024


def _helm(cluster: Cluster, *args: str) -> str:
    with tempfile.TemporaryDirectory(prefix="akri-helm-") as tmp:
        result = subprocess.run(
            [str(helm_binary()), *args],
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


@pytest.fixture(scope="module")
def kubectl(container_testbed: Cluster) -> Kubectl:
    return Kubectl.of(container_testbed)


@pytest.fixture(scope="module")
def cameras(container_testbed: Cluster) -> Iterator[dict[str, str]]:
    """Three simulated cameras, each in its own namespace on the node network; uuid → name."""
    started: list[subprocess.Popen[bytes]] = []
    log = open(container_testbed.directory / "logs" / "video-cameras.log", "ab")  # noqa: SIM115
    try:
        for suffix, ip, uuid, name in CAMERAS:
            netns_path = add_host(container_testbed, suffix, ip)
            started.append(
                subprocess.Popen(
                    [
                        "nsenter",
                        f"--net={netns_path}",
                        "--",
                        sys.executable,
                        "-m",
                        "tests.integration.onvif_support.camera",
                        *("--ip", ip, "--uuid", uuid, "--name", name),
                        *("--mac", f"02:00:00:00:0c:{uuid[-2:]}"),
                    ],
                    env={**os.environ, "PYTHONPATH": str(REPO)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        yield dict(NAME_BY_UUID)
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def release(
    container_testbed: Cluster, kubectl: Kubectl, images: ImageRefs, cameras: dict[str, str]
) -> Iterator[None]:
    _helm(
        container_testbed,
        *("upgrade", "--install", RELEASE, str(CHART), "-n", NAMESPACE, "--create-namespace"),
        *("--wait", "--timeout", "240s", "-f", str(VALUES)),
    )
    try:
        yield
    finally:
        subprocess.run(
            [str(helm_binary()), "uninstall", RELEASE, "-n", NAMESPACE, "--wait"],
            env={"KUBECONFIG": str(container_testbed.kubeconfig), "HOME": "/tmp"},
            capture_output=True,
            check=False,
            timeout=180,
        )
        kubectl.run("delete", "namespace", NAMESPACE, "--wait=true", "--timeout=120s", check=False)


def _camera_instances(kubectl: Kubectl, cameras: dict[str, str]) -> dict[str, str] | None:
    """Instance name → camera name, once every camera has an Instance with its media described."""
    found = {}
    for instance in kubectl.items("instances.akri.sh", NAMESPACE):
        properties = instance["spec"]["brokerProperties"]
        uuid = properties.get("ONVIF_DEVICE_UUID")
        if uuid in cameras and properties.get("ONVIF_PROFILE_1_STREAM_URI", "").startswith("http"):
            found[instance["metadata"]["name"]] = cameras[uuid]
    return found if len(found) == len(cameras) else None


def _running_brokers(kubectl: Kubectl, instances: dict[str, str]) -> list[dict[str, Any]] | None:
    pods = [
        p
        for p in kubectl.items("pods", NAMESPACE)
        if p["metadata"].get("labels", {}).get("akri.sh/instance") in instances
        and p["status"].get("phase") == "Running"
        and all(s.get("ready") for s in p["status"].get("containerStatuses", [{}]))
    ]
    covered = {p["metadata"]["labels"]["akri.sh/instance"] for p in pods}
    return pods if covered == set(instances) else None


def _frames(kubectl: Kubectl, client: str, targets: list[str]) -> list[dict[str, Any]]:
    output = kubectl.exec(NAMESPACE, client, "python3", "-c", GET_FRAMES, *targets)
    answers: list[dict[str, Any]] = json.loads(output.strip().splitlines()[-1])
    for answer in answers:
        if "frame" in answer:
            answer["fields"] = fields(base64.b64decode(answer["frame"]))
    return answers


def test_each_cameras_frames_come_through_its_instance_service(
    container_testbed: Cluster,
    kubectl: Kubectl,
    images: ImageRefs,
    cameras: dict[str, str],
    release: None,
) -> None:
    instances: dict[str, str] = wait_until(
        lambda: _camera_instances(kubectl, cameras),
        what="an Instance with media for each camera",
        timeout=120,
    )
    brokers: list[dict[str, Any]] = wait_until(
        lambda: _running_brokers(kubectl, instances),
        what="a Running video broker for each camera",
        timeout=240,
    )
    assert {c["image"] for p in brokers for c in p["spec"]["containers"]} == {
        images["onvif-video-broker"]
    }
    if kubectl.get("pod", "frames-client", NAMESPACE) is None:
        kubectl.apply(
            pod(
                "frames-client",
                images["onvif-video-broker"],
                node=CLIENT_NODE,
                namespace=NAMESPACE,
                command=["python3", "-c", "import signal; signal.sigwait({signal.SIGTERM})"],
            )
        )
    running(kubectl, "frames-client", NAMESPACE)

    # Instance Services: <instance>-svc, port 80 named grpc → 8083.
    targets: dict[str, str] = {}
    for instance, camera in instances.items():
        service = kubectl.get("service", f"{instance}-svc", NAMESPACE)
        assert service is not None, f"no Service for {instance}"
        (port,) = service["spec"]["ports"]
        assert (port["name"], port["port"], port["targetPort"]) == ("grpc", 80, 8083)
        targets[f"{service['spec']['clusterIP']}:80"] = camera

    seen: list[dict[str, Any]] = []

    def all_frames() -> list[dict[str, Any]] | None:
        answers = _frames(kubectl, "frames-client", list(targets))
        seen[:] = [{k: v for k, v in a.items() if k != "frame"} for a in answers]
        if any(a.get("fields", {}).get("name") != targets[a["target"]] for a in answers):
            return None
        return answers

    def frames(what: str, timeout: float) -> list[dict[str, Any]]:
        try:
            found: list[dict[str, Any]] = wait_until(all_frames, what=what, timeout=timeout)
        except AssertionError as err:
            logs = {
                p["metadata"]["name"]: kubectl.run(
                    "logs", "-n", NAMESPACE, p["metadata"]["name"], "--tail=5", check=False
                ).stdout[-1500:]
                for p in brokers
            }
            raise AssertionError(f"{err}\nanswers: {seen}\nbroker logs: {logs}") from None
        return found

    first = frames("each Service's frame from its camera", 60)
    time.sleep(1.0)  # wait-ok: two frames a second apart
    second = frames("frames a second later", 30)
    for before, after in zip(first, second, strict=True):
        assert before["camera"].endswith("/stream.mjpeg"), before["camera"]
        assert int(after["fields"]["frame"]) > int(before["fields"]["frame"]), (before, after)
        assert base64.b64decode(before["frame"]).startswith(b"\xff\xd8")

    # Memory of each broker: the process's RSS and its container's cgroup working set.
    figures = [
        json.loads(kubectl.exec(NAMESPACE, p["metadata"]["name"], "python3", "-c", MEMORY).strip())
        for p in brokers
    ]
    for figure in figures:
        figure["working_set_kib"] = _working_set_kib(figure.pop("cgroup"))
    print(f"\nvideo broker pods' memory (KiB): {figures}")
    assert all(f["rss_kib"] < 160 * 1024 for f in figures), figures
