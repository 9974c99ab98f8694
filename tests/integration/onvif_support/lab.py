"""A test's own little camera network: network namespaces joined by veth pairs.

``OnvifLab`` creates ``<prefix>-h`` (where the handler under test runs) and ``<prefix>-c`` (where
the simulated cameras run, each on an address of its own), on a private /24 that exists only inside
those namespaces, and starts processes in them with ``ip netns exec``. With ``handlers=N`` (N > 1)
it creates N handler namespaces (``<prefix>-h``, ``<prefix>-h2``, ...), each with a veth pair into
the camera namespace, where a bridge (named ``vc``, holding the camera addresses, IGMP snooping
off) joins them into one link: every handler reaches every camera, multicast included. On exit,
also after a failure, it kills every process it started and any other process left in its
namespaces, and deletes the namespaces (which removes the veth pairs and the bridge). The root
namespace sees no traffic at all: the test talks to the handlers over their Unix sockets, which
work across network namespaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import pytest

REPO = Path(__file__).resolve().parents[3]
STOP_DEADLINE = 5.0
_labs = itertools.count(1)


def require_netns() -> None:
    """Skips the calling test unless it can create network namespaces (root and iproute2)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network-namespace tests need root and iproute2 (ip)")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class LabProcess:
    name: str
    proc: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class SimulatedCamera:
    process: LabProcess
    ip: str
    uuid: str
    mac: str
    url: str


@dataclass
class OnvifLab:
    """A camera namespace, ``handlers`` handler namespaces, and the processes started in them."""

    logs: Path
    handlers: int = 1
    prefix: str = field(default_factory=lambda: f"akon{os.getpid() % 10000}x{next(_labs)}")
    subnet: str = field(default_factory=lambda: f"10.{200 + os.getpid() % 50}.{next(_labs) % 250}")
    processes: list[LabProcess] = field(default_factory=list)
    _next_host: itertools.count[int] = field(default_factory=lambda: itertools.count(11))

    @property
    def handler_ns(self) -> str:
        return self.handler_namespaces[0]

    @property
    def handler_namespaces(self) -> tuple[str, ...]:
        """``<prefix>-h``, then ``<prefix>-h2``, ``<prefix>-h3``, ... (one per handler)."""
        return tuple(f"{self.prefix}-h{i + 1 if i else ''}" for i in range(self.handlers))

    @property
    def camera_ns(self) -> str:
        return f"{self.prefix}-c"

    @property
    def namespaces(self) -> tuple[str, ...]:
        return (*self.handler_namespaces, self.camera_ns)

    def handler_address(self, index: int = 0) -> str:
        """The address of handler namespace ``index`` (.1, then .3, .4, ...; .2 is the camera
        namespace's own)."""
        return f"{self.subnet}.{1 if index == 0 else index + 2}"

    async def __aenter__(self) -> Self:
        require_netns()
        try:
            self._create()
        except BaseException:
            self._delete()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            for process in reversed(self.processes):
                await self.stop(process, sig=signal.SIGKILL)
        finally:
            self._delete()

    def _create(self) -> None:
        if self.handlers < 1:
            raise ValueError("a lab needs at least one handler namespace")
        c = self.camera_ns
        veth = ("link", "add", "vh", "type", "veth", "peer", "name")
        for ns in self.namespaces:
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        if self.handlers == 1:
            # The original topology: one veth pair, its camera end carrying the camera addresses.
            _ip("-n", self.handler_ns, *veth, "vc", "netns", c)
        else:
            _ip("-n", c, "link", "add", "vc", "type", "bridge", "mcast_snooping", "0")
            for index, h in enumerate(self.handler_namespaces):
                port = f"vc{index + 1}"
                _ip("-n", h, *veth, port, "netns", c)
                _ip("-n", c, "link", "set", port, "master", "vc")
                _ip("-n", c, "link", "set", port, "up")
        for index, h in enumerate(self.handler_namespaces):
            _ip("-n", h, "addr", "add", f"{self.handler_address(index)}/24", "dev", "vh")
            _ip("-n", h, "link", "set", "vh", "up")
        _ip("-n", c, "addr", "add", f"{self.subnet}.2/24", "dev", "vc")
        _ip("-n", c, "link", "set", "vc", "up")

    def _delete(self) -> None:
        for ns in self.namespaces:
            pids = subprocess.run(
                ["ip", "netns", "pids", ns], capture_output=True, text=True, check=False
            ).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)

    def namespaces_exist(self) -> bool:
        listed = subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, check=False
        ).stdout
        return any(line.split()[0] in self.namespaces for line in listed.splitlines() if line)

    async def start(
        self,
        ns: str,
        module: str,
        *args: str,
        name: str,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
    ) -> LabProcess:
        """Runs ``python -m module args`` inside namespace ``ns``; stderr goes to a log file."""
        log_path = self.logs / f"{len(self.processes) + 1:02d}-{name}.log"
        full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                "ip", "netns", "exec", ns, python, "-m", module, *args,
                env=full_env,
                cwd=REPO,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )  # fmt: skip
        process = LabProcess(name=name, proc=proc, log_path=log_path)
        self.processes.append(process)
        return process

    async def start_camera(
        self,
        *,
        uuid: str,
        mac: str,
        scopes: tuple[str, ...] = (),
        username: str | None = None,
        password: str = "",
        mode: str = "ok",
        hello: bool = True,
        discovery: bool = True,
        quirks: tuple[str, ...] = (),
        clock_skew: float = 0.0,
        digest_algorithm: str = "MD5",
    ) -> SimulatedCamera:
        """Adds an address for the camera in the camera namespace and starts it there.

        ``discovery=False`` starts only its device service (no WS-Discovery socket), for a test
        that announces the camera with another WS-Discovery implementation."""
        ip = f"{self.subnet}.{next(self._next_host)}"
        _ip("-n", self.camera_ns, "addr", "add", f"{ip}/24", "dev", "vc")
        args = ["--ip", ip, "--uuid", uuid, "--mac", mac, "--mode", mode]
        for scope in scopes:
            args += ["--scope", scope]
        if username is not None:
            args += ["--username", username, "--password", password]
        if not hello:
            args.append("--no-hello")
        if not discovery:
            args.append("--no-discovery")
        for quirk in quirks:
            args += ["--quirk", quirk]
        args += ["--clock-skew", str(clock_skew), "--digest-algorithm", digest_algorithm]
        process = await self.start(
            self.camera_ns, "tests.integration.onvif_support.camera", *args, name=f"camera-{ip}"
        )
        assert process.proc.stdout is not None
        try:
            line = await asyncio.wait_for(process.proc.stdout.readline(), 15.0)
        except TimeoutError:
            line = b""
        if not line:
            raise AssertionError(f"camera {ip} did not start; its log:\n{process.log()}")
        ready = json.loads(line)
        return SimulatedCamera(process=process, ip=ip, uuid=uuid, mac=mac, url=ready["urls"][0])

    def new_camera_address(self) -> str:
        """Adds the next free address of the lab's subnet in the camera namespace."""
        ip = f"{self.subnet}.{next(self._next_host)}"
        _ip("-n", self.camera_ns, "addr", "add", f"{ip}/24", "dev", "vc")
        return ip

    def add_address(self, ns: str, cidr: str, device: str = "lo") -> None:
        """Adds an address to a device of one of the lab's namespaces (gone with it)."""
        if ns not in self.namespaces:
            raise ValueError(f"{ns} is not a namespace of this lab")
        _ip("-n", ns, "addr", "add", cidr, "dev", device)

    async def start_ready(
        self, ns: str, module: str, *args: str, name: str, within: float = 15.0
    ) -> tuple[LabProcess, dict[str, object]]:
        """Starts a test peer that prints one JSON line when ready; returns it and that line."""
        process = await self.start(ns, module, *args, name=name)
        assert process.proc.stdout is not None
        try:
            line = await asyncio.wait_for(process.proc.stdout.readline(), within)
        except TimeoutError:
            line = b""
        if not line:
            raise AssertionError(f"{name} did not start; its log:\n{process.log()}")
        return process, json.loads(line)

    async def start_wsd_publisher(
        self, *, uuid: str, xaddr: str, scopes: tuple[str, ...] = ()
    ) -> LabProcess:
        """Announces a camera with ``wsdiscovery``'s publisher, in the camera namespace; returns
        once its Hellos have left (SIGTERM makes it say Bye)."""
        args = ["--uuid", uuid, "--xaddr", xaddr]
        for scope in scopes:
            args += ["--scope", scope]
        process = await self.start(
            self.camera_ns, "tests.integration.onvif_support.wsd_publisher", *args, name="wsd"
        )
        assert process.proc.stdout is not None
        try:
            line = await asyncio.wait_for(process.proc.stdout.readline(), 20.0)
        except TimeoutError:
            line = b""
        if not line:
            raise AssertionError(
                f"the wsdiscovery publisher did not start; its log:\n{process.log()}"
            )
        return process

    async def start_fleet(
        self, count: int, *, uuid_prefix: str, mac_prefix: str, extra: tuple[str, ...] = ()
    ) -> LabProcess:
        """``count`` cameras served by one process (uuids and MACs end in their index); ``extra``
        are more camera arguments (``--username``, ``--quirk``, ...)."""
        ips = [f"{self.subnet}.{next(self._next_host)}" for _ in range(count)]
        args: list[str] = []
        for ip in ips:
            _ip("-n", self.camera_ns, "addr", "add", f"{ip}/24", "dev", "vc")
            args += ["--ip", ip]
        args += [
            "--uuid",
            f"{uuid_prefix}0000",
            "--mac",
            f"{mac_prefix}00:00",
            "--no-hello",
            *extra,
        ]
        process = await self.start(
            self.camera_ns, "tests.integration.onvif_support.camera", *args, name="fleet"
        )
        assert process.proc.stdout is not None
        line = await asyncio.wait_for(process.proc.stdout.readline(), 30.0)
        if not line:
            raise AssertionError(f"the camera fleet did not start; its log:\n{process.log()}")
        return process

    async def start_handler(
        self, directory: Path, index: int = 0, /, *, python: str = sys.executable, **env: str
    ) -> LabProcess:
        """Starts ``python -m akri_onvif`` in handler namespace ``index``, serving in ``directory``."""
        settings = {
            "DISCOVERY_HANDLERS_DIRECTORY": str(directory),
            "ONVIF_PROBE_INTERVAL_SECONDS": "1",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "debug",
            **env,
        }
        return await self.start(
            self.handler_namespaces[index],
            "akri_onvif",
            name=f"handler{index + 1 if index else ''}",
            env=settings,
            python=python,
        )

    async def wait_serving(
        self, handler: LabProcess, directory: Path, *, within: float = 20.0
    ) -> None:
        """Waits until the handler's socket accepts connections: the file exists from ``bind``,
        but a client is refused until ``listen``."""
        path = str(directory / "onvif.sock")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if handler.proc.returncode is not None:
                raise AssertionError(f"the handler exited; its log:\n{handler.log()[-3000:]}")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(path)
                except OSError:
                    pass
                else:
                    return
            if loop.time() > deadline:
                raise AssertionError(f"the handler is not serving on {path} after {within:g} s")
            await asyncio.sleep(0.05)  # wait-ok: polls the socket against a deadline

    async def stop(self, process: LabProcess, *, sig: int = signal.SIGTERM) -> int:
        """Signals the process and waits for it; kills it past the deadline."""
        proc = process.proc
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
        try:
            code = await asyncio.wait_for(proc.wait(), STOP_DEADLINE)
        except TimeoutError:
            proc.kill()
            code = await proc.wait()
        if proc.stdout is not None:
            proc.stdout.feed_eof()
        return code
