"""`make demo ARGS=--once` tells the whole story and exits 0 only when every step was seen."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

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


async def test_cluster_demo_once() -> None:
    code, text = await run_demo("--once", timeout=240)
    assert code == 0, text
    assert "webhook refused a Configuration with a typo" in text
    assert "imagePullPolicyy" in text
    for step in (
        "foo0 and foo1 online on both nodes",
        "OFFLINE on testbed-node-1",
        "OFFLINE everywhere",
        "back online on both nodes",
    ):
        assert f"step: {step}" in text, step
    assert "DEBUG_ECHO_DESCRIPTION=foo0" in text
    assert text.rstrip().endswith("every step seen")
