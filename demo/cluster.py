"""Starting the demo's cluster: the testbed, then every Akri-py process, all stopped together.

Two testbed nodes, each with an agent and a debugEcho handler (its own availability file), the
controller, and the webhook (a self-signed certificate, registered through a
ValidatingWebhookConfiguration with a URL on loopback). Each process logs to ``<dir>/logs``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from akri_testbed.cluster import Cluster, start_cluster, stop_cluster
from akri_testbed.processes import Started, spawn, stop

WEBHOOK_NAME = "akri-webhook-configuration"


@dataclass
class Node:
    name: str
    handlers_dir: Path
    availability: Path
    run_options_dir: Path


@dataclass
class Demo:
    directory: Path
    testbed: Cluster
    nodes: list[Node] = field(default_factory=list)
    processes: list[Started] = field(default_factory=list)
    webhook_port: int = 0
    webhook_ca: bytes = b""

    def start(self, name: str, module: str, *args: str, env: dict[str, str]) -> Started:
        proc = spawn(
            name,
            [sys.executable, "-m", module, *args],
            self.directory / "logs" / f"{name}.log",
            env={**os.environ, "KUBECONFIG": str(self.testbed.kubeconfig), **env},
            die_with_parent=True,
        )
        self.processes.append(proc)
        return proc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "webhook.crt", directory / "webhook.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=akri-webhook",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextlib.contextmanager
def running(directory: Path) -> Iterator[Demo]:
    """Starts everything in ``directory``; stops everything on the way out."""
    testbed = start_cluster(directory / "testbed", nodes=2, die_with_parent=True)
    demo = Demo(directory=directory, testbed=testbed)
    try:
        for index, node in enumerate(testbed.nodes):
            handlers = Path(f"/tmp/akri-demo-{directory.name[-6:]}-{index}")
            handlers.mkdir(exist_ok=True)
            demo.nodes.append(
                Node(
                    name=node.name,
                    handlers_dir=handlers,
                    availability=directory / f"{node.name}-availability.txt",
                    run_options_dir=node.run_options_dir,
                )
            )
            demo.start(
                f"agent-{node.name}",
                "akri_agent",
                env={
                    "AGENT_NODE_NAME": node.name,
                    "DISCOVERY_HANDLERS_DIRECTORY": str(handlers),
                    "KUBELET_DEVICE_PLUGINS_DIRECTORY": str(node.device_plugin_dir),
                    "KUBELET_POD_RESOURCES_SOCKET": str(node.pod_resources_socket),
                    "METRICS_PORT": "0",
                    "LOG_FORMAT": "json",
                },
            )
            demo.start(
                f"debug-echo-{node.name}",
                "akri_debug_echo",
                env={
                    "DISCOVERY_HANDLERS_DIRECTORY": str(handlers),
                    "DEBUG_ECHO_INSTANCES_SHARED": "true",
                    "DEBUG_ECHO_AVAILABILITY_FILE": str(demo.nodes[-1].availability),
                    "LOG_FORMAT": "json",
                },
            )
        demo.start("controller", "akri_controller", env={"METRICS_PORT": "0", "LOG_FORMAT": "json"})
        cert, key = _certificate(directory)
        demo.webhook_port = free_port()
        demo.webhook_ca = base64.b64encode(cert.read_bytes())
        demo.start(
            "webhook",
            "akri_webhook",
            "--tls-crt-file", str(cert), "--tls-key-file", str(key),
            "--port", str(demo.webhook_port), "--host", "127.0.0.1",
            env={"METRICS_PORT": "0", "LOG_FORMAT": "json"},
        )  # fmt: skip
        yield demo
    finally:
        for proc in reversed(demo.processes):
            stop(proc)
        for entry in demo.nodes:
            for leftover in entry.handlers_dir.glob("*.sock"):
                leftover.unlink()
            with contextlib.suppress(OSError):
                entry.handlers_dir.rmdir()
        stop_cluster(testbed.directory)
