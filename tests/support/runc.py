"""Running an image's entrypoint for real: an OCI archive unpacked by umoci, run by runc.

``unpack(archive, tag, into)`` makes a runtime bundle (umoci writes ``config.json`` from the
image config: entrypoint, env, user); ``Bundle.run`` runs it to completion, ``Bundle.start`` in
the background. Every container gets a unique id and its own ``runc --root`` state directory,
and ``Bundle.cleanup`` force-deletes whatever is left, so no container or cgroup outlives a test.
The root file system is mounted read-only: an image must not need to write (bytecode included).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

_ids = itertools.count(1)


@dataclass
class Running:
    id: str
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)  # stdout, as it arrives
    errors: list[str] = field(default_factory=list)  # stderr, as it arrives
    pumps: list[threading.Thread] = field(default_factory=list)

    def pump(self) -> None:
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        for stream, lines in ((self.proc.stdout, self.lines), (self.proc.stderr, self.errors)):
            thread = threading.Thread(target=_collect, args=(stream, lines), daemon=True)
            thread.start()
            self.pumps.append(thread)

    def close(self) -> None:
        """Waits for the output to end (the container must be gone) and closes the pipes."""
        for thread in self.pumps:
            thread.join(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def _collect(stream: IO[str], lines: list[str]) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))


@dataclass
class Bundle:
    path: Path
    state: Path
    entrypoint: list[str]
    ids: list[str] = field(default_factory=list)
    running: list[Running] = field(default_factory=list)

    def config(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.path / "config.json").read_text())
        return loaded

    def _prepare(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        host_network: bool,
        devices: Sequence[tuple[str, str]],
        tmpfs: Sequence[str] = (),
        files: Sequence[tuple[str, Path]] = (),
    ) -> str:
        config = self.config()
        config["mounts"] = [m for m in config["mounts"] if m["destination"] not in tmpfs] + [
            {
                "destination": path,
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "nodev"],
            }
            for path in tmpfs
        ]
        config["mounts"] += [
            {"destination": inside, "type": "bind", "source": str(host), "options": ["rbind", "ro"]}
            for inside, host in files
        ]
        config["process"]["args"] = [*self.entrypoint, *args]
        config["process"]["terminal"] = False
        kept = [e for e in config["process"]["env"] if e.split("=", 1)[0] not in env]
        config["process"]["env"] = [*kept, *(f"{k}={v}" for k, v in env.items())]
        config["root"]["readonly"] = True
        namespaces = [n for n in config["linux"]["namespaces"] if n["type"] != "network"]
        if not host_network:
            namespaces.append({"type": "network"})
        config["linux"]["namespaces"] = namespaces
        config["linux"]["devices"] = []
        allowed = list(config["linux"]["resources"].get("devices", []))
        for container_path, host_path in devices:
            st = os.stat(host_path)
            config["linux"]["devices"].append(
                {
                    "path": container_path,
                    "type": "c",
                    "major": os.major(st.st_rdev),
                    "minor": os.minor(st.st_rdev),
                    "fileMode": 0o666,
                    "uid": 0,
                    "gid": 0,
                }
            )
            allowed.append(
                {
                    "allow": True,
                    "type": "c",
                    "major": os.major(st.st_rdev),
                    "minor": os.minor(st.st_rdev),
                    "access": "rwm",
                }
            )
        config["linux"]["resources"]["devices"] = allowed
        container = f"akri-test-{os.getpid()}-{next(_ids)}"
        config["hostname"] = container
        (self.path / "config.json").write_text(json.dumps(config))
        self.ids.append(container)
        return container

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Runs the entrypoint (plus ``args``) to completion; stdout and stderr kept apart."""
        container = self._prepare(args, env or {}, host_network=False, devices=())
        return subprocess.run(
            ["runc", "--root", str(self.state), "run", "--bundle", str(self.path), container],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def start(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        host_network: bool = False,
        devices: Sequence[tuple[str, str]] = (),
        tmpfs: Sequence[str] = (),
        files: Sequence[tuple[str, Path]] = (),
    ) -> Running:
        """Starts the entrypoint in the background; its stdout and stderr lines are collected.
        ``tmpfs`` paths get a fresh writable tmpfs (the root file system is read-only);
        ``files`` are (container path, host path) read-only bind mounts."""
        container = self._prepare(
            args, env or {}, host_network=host_network, devices=devices, tmpfs=tmpfs, files=files
        )
        proc = subprocess.Popen(
            ["runc", "--root", str(self.state), "run", "--bundle", str(self.path), container],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        running = Running(id=container, proc=proc)
        running.pump()
        self.running.append(running)
        return running

    def kill(self, running: Running, signal: str = "TERM") -> None:
        subprocess.run(
            ["runc", "--root", str(self.state), "kill", running.id, signal],
            capture_output=True,
            check=True,
        )

    def cleanup(self) -> None:
        for container in self.ids:
            subprocess.run(
                ["runc", "--root", str(self.state), "delete", "--force", container],
                capture_output=True,
                check=False,
            )
        self.ids.clear()
        for running in self.running:
            if running.proc.poll() is None:
                running.proc.kill()
            running.proc.wait(timeout=10)
            running.close()
        self.running.clear()


def unpack(archive: Path, tag: str, into: Path) -> Bundle:
    """Unpacks the OCI archive with umoci into ``into/bundle``."""
    layout = into / "layout"
    layout.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(layout, filter="data")
    bundle = into / "bundle"
    subprocess.run(
        ["umoci", "unpack", "--image", f"{layout}:{tag}", str(bundle)],
        capture_output=True,
        check=True,
    )
    shutil.rmtree(layout)
    state = into / "runc-state"
    state.mkdir()
    args = json.loads((bundle / "config.json").read_text())["process"]["args"]
    return Bundle(path=bundle, state=state, entrypoint=list(args))
