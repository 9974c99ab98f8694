"""`make demo ARGS=--once` tells the whole story and exits 0 only when every step was seen."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest
from akri_testbed import netns

ROOT = Path(__file__).resolve().parents[2]


async def run_demo(*args: str, timeout: float) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "demo",
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "testbed")},  # as `make demo` runs it
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.terminate()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_local_demo_once() -> None:
    code, text = await run_demo("--local", "--once", timeout=60)
    assert code == 0, text
    assert text.count("2 Instance(s) on node demo-node") == 2
    assert "0 Instance(s) on node demo-node" in text
    assert "akri-debug-echo-8120fe" in text
    assert text.rstrip().endswith("every step seen")


# It starts a container testbed, pushes our images and installs, upgrades and uninstalls the chart.
@pytest.mark.containers
@pytest.mark.timeout(1200)
async def test_cluster_demo_once_tells_the_helm_story_and_leaves_nothing() -> None:
    code, text = await run_demo("--once", timeout=1100)
    assert code == 0, text
    for step in (
        "helm install akri helm/akri",
        "installed: foo0 and foo1 seen by both nodes",
        "OFFLINE on testbed-node-1",
        "OFFLINE everywhere",
        "back online on both nodes",
        "helm upgrade ... -f examples/helm/onvif.yaml",
        "ONVIF added: the camera is an Instance with its brokers",
        "helm uninstall akri",
        "uninstalled: nothing of Akri left",
    ):
        assert f"step: {step}" in text, step
    assert "webhook refused a Configuration with a typo" in text
    assert "imagePullPolicyy" in text
    # the device's env as seen inside each broker's container
    assert "DEBUG_ECHO_DESCRIPTION=foo0" in text
    assert "ONVIF_DEVICE_IP_ADDRESS=10.200.0.100" in text
    assert "kept their UIDs across the upgrade" in text
    assert "clean cluster" in text
    assert text.rstrip().endswith("every step seen")
    directory = Path(re.search(r"with our images in (\S+) \.\.\.", text)[1])  # type: ignore[index]
    assert _left_by(directory) == [], text


# The video story: cameras on the node network, video brokers, the streaming app's page.
@pytest.mark.containers
@pytest.mark.timeout(1200)
async def test_video_demo_once_shows_the_cameras_and_leaves_nothing() -> None:
    code, text = await run_demo("--video", "--once", timeout=1100)
    assert code == 0, text
    for line in (
        "helm install akri helm/akri -f examples/helm/onvif-video.yaml",
        "three cameras on the node network: 10.200.0.120, 10.200.0.121, 10.200.0.122",
        "the streaming app: open http://127.0.0.1:",
        "the page shows three live cameras",
        "camera-2's Instance, broker and tile are gone",
        "camera-2 is back on the page",
    ):
        assert line in text, line
    assert (
        len(re.findall(r"akri-onvif-video-[0-9a-f]{6} on testbed-node-1\+testbed-node-2", text))
        == 3
    )
    assert text.rstrip().endswith("every step seen")
    directory = Path(re.search(r"with our images in (\S+) \.\.\.", text)[1])  # type: ignore[index]
    assert _left_by(directory) == [], text


def _left_by(directory: Path) -> list[str]:
    """What of the demo's testbed is still on the machine: its directory, processes, network
    namespaces and cgroups (named after its id)."""
    ident = netns.testbed_id(directory / "testbed")
    left = [str(directory)] if directory.exists() else []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(directory) in cmdline:
            left.append(f"process {pid} {cmdline[:200]}")
    if netns.NETNS_DIR.is_dir():
        left += [f"netns {p.name}" for p in netns.NETNS_DIR.iterdir() if ident in p.name]
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        if hierarchy.is_dir():
            left += [f"cgroup {c}" for c in hierarchy.glob(f"*{ident}*")]
    return left
