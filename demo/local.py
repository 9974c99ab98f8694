"""`make demo ARGS=--local`: a debugEcho discovery handler and `akri discover --watch`, live.

The demo hosts the agent's registration socket through `akri discover --watch`, starts a debugEcho
handler that registers with it, then toggles the handler's availability file (online, OFFLINE,
online...) and shows each change of the Instances the agent would create. Ctrl-C stops everything.
`--once` runs the story once, non-interactively, and exits 0 only if every step was seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CONFIGURATION = """\
apiVersion: akri.sh/v0
kind: Configuration
metadata:
  name: akri-debug-echo
spec:
  discoveryHandler:
    name: debugEcho
    discoveryDetails: |
      descriptions:
      - foo0
      - foo1
  capacity: 2
  brokerProperties:
    RESOLUTION_WIDTH: "800"
"""
STEP_TIMEOUT = 15.0
EXPECTED = {"akri-debug-echo-8120fe", "akri-debug-echo-a19705"}


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def show(document: dict[str, Any]) -> set[str]:
    instances = document["instances"]
    say(f"akri discover: {len(instances)} Instance(s) on node {document['node']}")
    for instance in instances:
        spec = instance["spec"]
        props = ", ".join(f"{k}={v}" for k, v in sorted(spec["brokerProperties"].items()))
        print(
            f"    {instance['name']:<26} device={instance['device']['id']:<6}"
            f" capacity={spec['capacity']} shared={spec['shared']} env: {props}",
            flush=True,
        )
    return {i["name"] for i in instances}


async def start(
    module: str, *args: str, env: dict[str, str], log: Path
) -> asyncio.subprocess.Process:
    with log.open("wb") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def next_document(watch: asyncio.subprocess.Process) -> dict[str, Any]:
    assert watch.stdout is not None
    line = await asyncio.wait_for(watch.stdout.readline(), STEP_TIMEOUT)
    if not line:
        raise RuntimeError("akri discover stopped")
    document: dict[str, Any] = json.loads(line)
    return document


async def story(workdir: Path, *, once: bool) -> bool:
    handlers = workdir / "handlers"
    handlers.mkdir()
    availability = workdir / "debug-echo-availability.txt"
    config = workdir / "configuration.yaml"
    config.write_text(CONFIGURATION)
    say(f"Configuration akri-debug-echo (debugEcho, descriptions foo0 and foo1) in {config}")
    watch = await start(
        "akri_cli",
        "discover", "-f", str(config), "--handlers-dir", str(handlers),
        "--node", "demo-node", "--watch", "-o", "json", "--timeout", str(STEP_TIMEOUT),
        env={}, log=workdir / "akri-discover.log",
    )  # fmt: skip
    handler = await start(
        "akri_debug_echo",
        env={
            "DISCOVERY_HANDLERS_DIRECTORY": str(handlers),
            "DEBUG_ECHO_INSTANCES_SHARED": "true",
            "DEBUG_ECHO_AVAILABILITY_FILE": str(availability),
        },
        log=workdir / "debug-echo.log",
    )
    say(f"debugEcho handler started; logs in {workdir}")
    try:
        seen = show(await next_document(watch)) == EXPECTED
        steps = 0
        while True:
            steps += 1
            offline = steps % 2 == 1
            say(f"writing {'OFFLINE' if offline else 'online'} to {availability.name}")
            availability.write_text("OFFLINE\n" if offline else "online\n")
            names = show(await next_document(watch))
            seen = seen and names == (set() if offline else EXPECTED)
            if once and steps == 2:
                return seen
            if not once:
                await asyncio.sleep(3)  # pace for a human watching
    finally:
        await stop(handler)
        await stop(watch)


async def main_async(once: bool) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="akri-demo-"))
    task = asyncio.ensure_future(story(workdir, once=once))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    keep = False
    try:
        ok = await task
    except asyncio.CancelledError:
        say("stopped")
        return 0
    except (RuntimeError, TimeoutError) as err:
        keep = True
        say(f"demo failed: {err or type(err).__name__}; logs kept in {workdir}")
        return 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if not keep:
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir)
    say("every step seen" if ok else "a step did not show what was expected")
    return 0 if ok else 1
