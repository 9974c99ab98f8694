"""Simulated ONVIF cameras on a container testbed's node network, started and stopped one by one.

Each camera runs the test suite's simulated camera (``tests.integration.onvif_support.camera``,
run by module name) in a network namespace of its own (``add_host``): WS-Discovery, the ONVIF
device and media services, and footage (its name and a clock drawn on a moving test pattern,
served as snapshots and MJPEG). Used by the video demo, and by the tests and the benchmark that
check it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from akri_testbed.cluster import Cluster, add_host

REPO = Path(__file__).resolve().parents[1]
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class SimulatedCamera:
    suffix: str  # of its network namespace
    ip: str
    uuid: str
    name: str  # announced in its WS-Discovery scope, drawn on its footage, in each JPEG's COM
    mac: str


@dataclass
class CameraHosts:
    """The cameras that run, by uuid, with the moment each was started; logs appended to ``log``."""

    cluster: Cluster
    log: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_at: dict[str, float] = field(default_factory=dict)
    _netns: dict[str, str] = field(default_factory=dict)

    def start(self, camera: SimulatedCamera) -> None:
        if camera.suffix not in self._netns:
            self._netns[camera.suffix] = add_host(self.cluster, camera.suffix, camera.ip)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.running[camera.uuid] = subprocess.Popen(
                [
                    "nsenter", f"--net={self._netns[camera.suffix]}", "--",
                    sys.executable, "-m", "tests.integration.onvif_support.camera",
                    "--ip", camera.ip, "--uuid", camera.uuid, "--name", camera.name,
                    "--mac", camera.mac,
                ],
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.started_at[camera.uuid] = time.monotonic()

    def stop(self, camera: SimulatedCamera) -> None:
        """SIGTERM: the camera says Bye and goes."""
        self._stop(camera.uuid)

    def stop_all(self) -> None:
        for uuid in list(self.running):
            self._stop(uuid)

    def _stop(self, uuid: str) -> None:
        process = self.running.pop(uuid, None)
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
