"""ONVIF Hello -> Instance on the testbed: a camera that needs HTTP Digest, one that needs a
UsernameToken (target p95 <= 1 s).

The camera (in a lab namespace) says Bye and Hello again on a signal; the ONVIF handler (in the
lab's handler namespace) registers with a real agent for testbed node 1, which applies the
Instance to the testbed's real API server. Probes every 60 s, so only the announcements count.
Prints medians and p95 of Hello -> Instance present and Bye -> Instance gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from akri_testbed.cluster import Cluster

from akri_common.k8s.objects import CONFIGURATION
from tests.bench.figures import latency_line
from tests.integration.onvif_support.lab import OnvifLab
from tests.support import kube
from tests.support.agents import Namespaced, delete_configurations, start_agent
from tests.support.processes import ProcessGroup, wait_for

pytestmark = [pytest.mark.bench, pytest.mark.netns]

RUNTIME_PYTHON = os.environ.get("AKRI_RUNTIME_PYTHON", sys.executable)
SAMPLES = 20
USERNAME = "bench"
PASSWORD = "bench-Secret-2"
CAMERAS: dict[str, tuple[str, ...]] = {
    "HTTP Digest on every call": ("digest-only", "auth-every-call"),
    "UsernameToken on every call": ("auth-every-call",),
}


@pytest.mark.parametrize("kind", list(CAMERAS))
async def test_hello_to_instance_latency(
    testbed: Cluster, processes: ProcessGroup, tmp_path: Path, kind: str
) -> None:
    node = testbed.nodes[0]
    directory = Path(f"/tmp/akri-onvb-{uuid.uuid4().hex[:8]}")  # a short Unix socket path
    namespace = f"b-{uuid.uuid4().hex[:8]}"
    directory.mkdir()
    try:
        async with kube.api(testbed.kubeconfig) as objects:
            await kube.install_crds(objects)
            await kube.create_namespace(objects, namespace)
            scope = Namespaced(objects, namespace)
            async with OnvifLab(logs=tmp_path) as lab:
                camera = await lab.start_camera(
                    uuid="7f000000-0000-4000-8000-000000000001",
                    mac="02:00:00:7f:00:01",
                    username=USERNAME,
                    password=PASSWORD,
                    quirks=CAMERAS[kind],
                )
                await start_agent(processes, testbed, node, directory, python=RUNTIME_PYTHON)
                handler = await lab.start_handler(
                    directory, python=RUNTIME_PYTHON, ONVIF_PROBE_INTERVAL_SECONDS="60",
                    LOG_LEVEL="warning",
                )  # fmt: skip
                await wait_for((directory / "onvif.sock").exists, timeout=20, what="handler")
                body: dict[str, Any] = {
                    "apiVersion": "akri.sh/v0",
                    "kind": "Configuration",
                    "metadata": {"name": "onvif", "namespace": namespace},
                    "spec": {
                        "discoveryHandler": {
                            "name": "onvif",
                            "discoveryDetails": yaml.safe_dump({"discoveryTimeoutSeconds": 1}),
                            "discoveryProperties": [
                                {"name": "username_default", "value": USERNAME},
                                {"name": "password_default", "value": PASSWORD},
                            ],
                        }
                    },
                }
                await objects.apply(CONFIGURATION, body, field_manager="akri-bench", force=True)

                async def count() -> int:
                    return len(await kube.instances(objects, namespace))

                async def present() -> bool:
                    return await count() == 1

                async def gone() -> bool:
                    return await count() == 0

                await wait_for(present, timeout=30, what="the first Instance", interval=0.05)
                hello: list[float] = []
                bye: list[float] = []
                for _ in range(SAMPLES):
                    start = time.perf_counter()
                    camera.process.proc.send_signal(signal.SIGUSR2)
                    await wait_for(gone, timeout=10, what="Instance gone", interval=0.02)
                    bye.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    camera.process.proc.send_signal(signal.SIGUSR1)
                    await wait_for(present, timeout=10, what="Instance back", interval=0.02)
                    hello.append(time.perf_counter() - start)
                await delete_configurations(scope)
                await lab.stop(handler)
                await processes.stop_all()
            await kube.delete_namespace(objects, namespace)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print()
    print(latency_line(f"onvif Hello -> Instance, {kind}", hello))
    print(latency_line(f"onvif Bye -> Instance deleted, {kind}", bye))
