"""`make demo ARGS=--once` tells the whole story and exits 0 only when every step was seen."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"


async def test_demo_once() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DEMO),
        "--once",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, text
    assert text.count("2 Instance(s) on node demo-node") == 2
    assert "0 Instance(s) on node demo-node" in text
    assert "akri-debug-echo-8120fe" in text
    assert text.rstrip().endswith("every step seen")
