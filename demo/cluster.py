"""The demo's cluster: a 2-node container testbed with our images, the tools a user types (``helm``,
``kubectl``), and a simulated ONVIF camera on the node network; all stopped together.

The testbed's nodes run real kubelets and containerd; our images (``make images``) are pushed to
the testbed's registry before the nodes start, so ``helm install`` of ``helm/akri`` pulls them as
on any cluster. The camera runs as its own process in a host namespace of the node network (the
test suite's simulated camera, run by module name).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from akri_testbed.binaries import locate as locate_binaries
from akri_testbed.cluster import Cluster, start_cluster, stop_cluster

from akri_images import locate as locate_images
from demo.cameras import CameraHosts, SimulatedCamera

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "helm" / "akri"
VALUES = REPO / "examples" / "helm"
NAMESPACE = "akri"
RELEASE = "akri"
CAMERA_IP = "10.200.0.100"
CAMERA_UUID = "0a3ec5b4-6f4e-4d8a-9c1e-1d2c3b4a5f61"
CAMERA_MAC = "02:00:00:00:01:01"
CAMERA = SimulatedCamera("democam", CAMERA_IP, CAMERA_UUID, "demo-camera", CAMERA_MAC)
COMMAND_TIMEOUT_S = 300.0


class CommandError(RuntimeError):
    """``helm`` or ``kubectl`` exited non-zero (or ran past its timeout); the message holds the
    command and its own error output, bounded."""


@dataclass
class Demo:
    directory: Path
    testbed: Cluster
    kubectl_binary: Path
    helm_binary: Path
    cameras: CameraHosts = field(init=False)
    logs: list[Path] = field(default_factory=list)

    @property
    def nodes(self) -> list[str]:
        return [node.name for node in self.testbed.nodes]

    async def _run(self, argv: Sequence[str], *, timeout: float, check: bool) -> str:
        env = {
            "HOME": str(self.directory / "home"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "KUBECONFIG": str(self.testbed.kubeconfig),
        }
        proc = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except (TimeoutError, asyncio.CancelledError):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        if check and proc.returncode != 0:
            what = " ".join(Path(a).name if i == 0 else a for i, a in enumerate(argv))
            raise CommandError(f"{what[:300]}: {err.decode(errors='replace').strip()[:2000]}")
        return out.decode(errors="replace")

    async def helm(self, *args: str, timeout: float = COMMAND_TIMEOUT_S) -> str:
        return await self._run([str(self.helm_binary), *args], timeout=timeout, check=True)

    async def kubectl(self, *args: str, timeout: float = 60.0, check: bool = True) -> str:
        return await self._run([str(self.kubectl_binary), *args], timeout=timeout, check=check)

    def __post_init__(self) -> None:
        self.cameras = CameraHosts(self.testbed, self.directory / "logs" / "cameras.log")

    def start_camera(self) -> None:
        """A simulated ONVIF camera at ``CAMERA_IP`` on the node network (both nodes hear it)."""
        self.cameras.start(CAMERA)

    def stop_cameras(self) -> None:
        self.cameras.stop_all()


@contextlib.contextmanager
def running(directory: Path, *, report: Callable[[str], None] = print) -> Iterator[Demo]:
    """Starts the testbed in ``directory`` with our images; stops everything on the way out."""
    images = locate_images(build=True)
    report(f"images: {', '.join(sorted(image.ref for image in images.values()))}")
    binaries = locate_binaries(build=False)
    (directory / "home").mkdir(parents=True, exist_ok=True)
    testbed = start_cluster(
        directory / "testbed",
        nodes=2,
        containers=True,
        images={image.ref: image.path for image in images.values()},
        die_with_parent=True,
    )
    demo = Demo(directory, testbed, binaries["kubectl"], binaries["helm"])
    try:
        yield demo
    finally:
        demo.stop_cameras()
        stop_cluster(testbed.directory)
