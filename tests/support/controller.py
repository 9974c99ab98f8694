"""The Akri controller as a real process for tests: started against the testbed, ready once its
``/healthz`` says every cache is listed."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from akri_testbed.cluster import Cluster

from tests.support.agents import free_port
from tests.support.metrics import scrape
from tests.support.processes import Child, ProcessGroup, wait_for

JSON_LOGS: Mapping[str, str] = {"LOG_FORMAT": "json"}


@dataclass(frozen=True)
class Controller:
    child: Child
    metrics_port: int

    async def scrape(self, path: str) -> str:
        """``GET path`` on its metrics port (``""`` while it does not listen)."""
        return await scrape(self.metrics_port, path)


async def start_controller(
    processes: ProcessGroup,
    testbed: Cluster,
    *,
    env: Mapping[str, str] = JSON_LOGS,
    python: str = sys.executable,
    timeout: float = 20,
) -> Controller:
    """Starts ``python -m akri_controller`` with ``env`` added (JSON logs by default) and waits until
    its ``/healthz`` answers 200."""
    port = free_port()
    child = await processes.start(
        "akri_controller",
        env={"KUBECONFIG": str(testbed.kubeconfig), "METRICS_PORT": str(port), **env},
        name="controller",
        python=python,
    )
    controller = Controller(child, port)

    async def healthy() -> bool:
        return (await controller.scrape("/healthz")).startswith("HTTP/1.1 200")

    await wait_for(healthy, timeout=timeout, what="the controller's caches", interval=0.1)
    return controller
