"""One testbed: start it in order, remember what runs in a state file, stop it in reverse.

Layout of a testbed directory::

    .akri-testbed   marks the directory as the testbed's own (``up`` wipes it)
    state.json      what is running (pids with start times), the API server URL and the nodes
    kubeconfig      admin kubeconfig (bearer token, the testbed CA)
    pki/            CA, API-server certificate, service-account keys, tokens.csv
    etcd/           etcd data
    logs/<name>.log one log per component
    nodes/<name>/   a node's kubelet root: device-plugins/, pod-resources/kubelet.sock, pods/
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from akri_testbed import components, kubeconfig, pki, probes
from akri_testbed.binaries import Binaries, locate
from akri_testbed.processes import Started, is_running, spawn, stop

STATE_FILE = "state.json"
MARKER_FILE = ".akri-testbed"
ETCD_TIMEOUT_S = 30.0
APISERVER_TIMEOUT_S = 60.0
COMPONENT_TIMEOUT_S = 60.0
NODE_TIMEOUT_S = 60.0
NOT_READY_TAINT = "node.kubernetes.io/not-ready"


class TestbedError(RuntimeError):
    """The testbed cannot be started or stopped as asked; the message says why."""


@dataclass(frozen=True)
class NodeInfo:
    """What a test needs to know about one node."""

    name: str
    root_dir: Path
    device_plugin_dir: Path
    pod_resources_socket: Path
    run_options_dir: Path
    log: Path


@dataclass
class Cluster:
    """A started (or partly started) testbed."""

    directory: Path
    server: str = ""
    token: str = ""
    ca_cert: Path = Path()
    kubeconfig: Path = Path()
    nodes: list[NodeInfo] = field(default_factory=list)
    processes: list[Started] = field(default_factory=list)
    startup_seconds: dict[str, float] = field(default_factory=dict)
    die_with_parent: bool = False

    @property
    def logs(self) -> dict[str, Path]:
        return {p.name: p.log for p in self.processes}

    def save(self) -> None:
        state = asdict(self)
        (self.directory / STATE_FILE).write_text(json.dumps(state, indent=2, default=str) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Cluster | None:
        path = directory / STATE_FILE
        if not path.is_file():
            return None
        raw: dict[str, Any] = json.loads(path.read_text())
        return cls(
            directory=Path(raw["directory"]),
            server=raw["server"],
            token=raw["token"],
            ca_cert=Path(raw["ca_cert"]),
            kubeconfig=Path(raw["kubeconfig"]),
            nodes=[
                NodeInfo(
                    name=str(n["name"]),
                    root_dir=Path(n["root_dir"]),
                    device_plugin_dir=Path(n["device_plugin_dir"]),
                    pod_resources_socket=Path(n["pod_resources_socket"]),
                    run_options_dir=Path(n["run_options_dir"]),
                    log=Path(n["log"]),
                )
                for n in raw["nodes"]
            ],
            processes=[
                Started(
                    name=p["name"],
                    pid=int(p["pid"]),
                    start_time=int(p["start_time"]),
                    command=tuple(p["command"]),
                    log=Path(p["log"]),
                )
                for p in raw["processes"]
            ],
            startup_seconds={k: float(v) for k, v in raw.get("startup_seconds", {}).items()},
            die_with_parent=bool(raw.get("die_with_parent", False)),
        )


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback TCP ports (held open together while picking)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _prepare_directory(directory: Path) -> None:
    """Refuses a running testbed or a foreign non-empty directory; wipes a stopped testbed."""
    directory.mkdir(parents=True, exist_ok=True)
    previous = Cluster.load(directory)
    if previous is not None:
        running = [p.name for p in previous.processes if is_running(p)]
        if running:
            raise TestbedError(
                f"a testbed is running in {directory} ({', '.join(running)}); run `down` first"
            )
    elif any(directory.iterdir()) and not (directory / MARKER_FILE).exists():
        raise TestbedError(f"{directory} is not empty and holds no testbed; choose another --dir")
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    (directory / MARKER_FILE).write_text("a testbed directory: `up` wipes it\n")


def start_cluster(
    directory: Path,
    *,
    nodes: int = 2,
    build: bool = False,
    report: Callable[[str], None] = lambda _: None,
    die_with_parent: bool = False,
) -> Cluster:
    """Starts etcd → kube-apiserver → kube-controller-manager → kube-scheduler → ``nodes`` nodes.

    Waits for each to be ready (with a deadline), writes the kubeconfig and the state file, and
    returns the cluster. On any failure, stops whatever it started and re-raises. With
    ``die_with_parent`` every process is killed (SIGKILL) when the calling process dies.
    """
    directory = directory.resolve()
    _prepare_directory(directory)
    binaries = locate(build=build)
    cluster = Cluster(directory=directory, die_with_parent=die_with_parent)
    cluster.save()
    try:
        _start(cluster, binaries, nodes, report, die_with_parent)
    except BaseException:
        _stop_all(cluster)
        raise
    return cluster


def _start(
    cluster: Cluster,
    binaries: Binaries,
    node_count: int,
    report: Callable[[str], None],
    die_with_parent: bool,
) -> None:
    directory = cluster.directory
    logs = directory / "logs"
    started = time.monotonic()
    certs = pki.generate(directory / "pki")
    cluster.token = secrets.token_hex(24)
    token_file = directory / "pki" / "tokens.csv"
    token_file.write_text(f"{cluster.token},admin,admin,system:masters\n")
    token_file.chmod(0o600)
    ports = components.Ports(*free_ports(5))
    cluster.server = f"https://127.0.0.1:{ports.apiserver}"
    cluster.ca_cert = certs.ca_cert

    def launch(name: str, command: list[str]) -> Started:
        proc = spawn(name, command, logs / f"{name}.log", die_with_parent=die_with_parent)
        cluster.processes.append(proc)
        cluster.save()
        report(f"{name:<24} pid {proc.pid:<7} log {proc.log}")
        return proc

    def ready(name: str, proc: Started, condition: Callable[[], bool], timeout: float) -> None:
        probes.wait_until(condition, what=name, timeout=timeout, process=proc)
        cluster.startup_seconds[name] = round(time.monotonic() - started, 2)

    etcd = launch("etcd", components.etcd(binaries, ports, directory / "etcd"))
    etcd_health = f"http://127.0.0.1:{ports.etcd_client}/health"
    ready("etcd", etcd, lambda: b'"true"' in probes.http_get(etcd_health)[1], ETCD_TIMEOUT_S)

    apiserver = launch("kube-apiserver", components.apiserver(binaries, ports, certs, token_file))

    def apiserver_ready() -> bool:
        status, _ = probes.http_get(
            f"{cluster.server}/readyz", token=cluster.token, ca_cert=certs.ca_cert
        )
        return status == 200

    ready("kube-apiserver", apiserver, apiserver_ready, APISERVER_TIMEOUT_S)
    cluster.kubeconfig = kubeconfig.write(
        directory / "kubeconfig", server=cluster.server, ca_cert=certs.ca_cert, token=cluster.token
    )
    kcm = launch(
        "kube-controller-manager",
        components.controller_manager(binaries, ports, cluster.kubeconfig, directory / "kcm-certs"),
    )
    sched = launch(
        "kube-scheduler",
        components.scheduler(binaries, ports, cluster.kubeconfig, directory / "scheduler-certs"),
    )
    node_procs: list[tuple[NodeInfo, Started]] = []
    for index in range(1, node_count + 1):
        name = f"testbed-node-{index}"
        dirs = components.NodeDirs(directory / "nodes" / name)
        proc = launch(name, components.node(binaries, name, dirs, cluster.kubeconfig))
        info = NodeInfo(
            name=name,
            root_dir=dirs.root,
            device_plugin_dir=dirs.device_plugins,
            pod_resources_socket=dirs.pod_resources_socket,
            run_options_dir=dirs.run_options,
            log=proc.log,
        )
        cluster.nodes.append(info)
        node_procs.append((info, proc))
    cluster.save()

    def healthz(port: int) -> Callable[[], bool]:
        return lambda: probes.http_get(f"https://127.0.0.1:{port}/healthz")[0] == 200

    ready("kube-controller-manager", kcm, healthz(ports.controller_manager), COMPONENT_TIMEOUT_S)
    ready("kube-scheduler", sched, healthz(ports.scheduler), COMPONENT_TIMEOUT_S)

    def node_ready(name: str) -> Callable[[], bool]:
        return lambda: node_is_ready(cluster, name)

    for info, proc in node_procs:
        ready(info.name, proc, node_ready(info.name), NODE_TIMEOUT_S)
    cluster.save()


def node_is_ready(cluster: Cluster, name: str) -> bool:
    """True when the Node is Ready and the node-lifecycle controller has lifted its not-ready taint
    (which the API server's TaintNodesByCondition admission puts on every new Node)."""
    node = probes.get_json(
        f"{cluster.server}/api/v1/nodes/{name}", token=cluster.token, ca_cert=cluster.ca_cert
    )
    if node is None:
        return False
    conditions = node.get("status", {}).get("conditions", [])
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    taints = node.get("spec", {}).get("taints", [])
    return ready and not any(t.get("key") == NOT_READY_TAINT for t in taints)


def _stop_all(cluster: Cluster) -> list[str]:
    """Stops every process in reverse start order; returns the names of those that would not stop."""
    stubborn = []
    for proc in reversed(cluster.processes):
        try:
            stop(proc)
        except RuntimeError:
            stubborn.append(proc.name)
    return stubborn


def stop_cluster(directory: Path) -> Cluster | None:
    """Stops the testbed recorded in ``directory`` (if any); keeps logs, removes the state file."""
    cluster = Cluster.load(directory.resolve())
    if cluster is None:
        return None
    stubborn = _stop_all(cluster)
    if stubborn:
        raise TestbedError(f"could not stop: {', '.join(stubborn)}")
    (cluster.directory / STATE_FILE).unlink(missing_ok=True)
    return cluster


def restart_node(cluster: Cluster, name: str, *, timeout: float = NODE_TIMEOUT_S) -> Started:
    """Stops node ``name`` and starts it again with the same command line, as a kubelet restart:
    the new process re-creates ``kubelet.sock`` (removing the plugins' sockets), so device plugins
    must register again. Returns once the new kubelet.sock exists and the node is Ready."""
    index = next((i for i, p in enumerate(cluster.processes) if p.name == name), None)
    if index is None:
        raise TestbedError(f"node={name!r}: not a process of this testbed")
    old = cluster.processes[index]
    socket_path = (
        next(n.device_plugin_dir for n in cluster.nodes if n.name == name) / "kubelet.sock"
    )
    old_identity = _file_identity(socket_path)
    stop(old)
    restarted = spawn(name, old.command, old.log, die_with_parent=cluster.die_with_parent)
    cluster.processes[index] = restarted
    cluster.save()
    probes.wait_until(
        lambda: _file_identity(socket_path) not in (None, old_identity),
        what=f"{name} new kubelet.sock",
        timeout=timeout,
        process=restarted,
    )
    probes.wait_until(
        lambda: node_is_ready(cluster, name),
        what=f"{name} ready",
        timeout=timeout,
        process=restarted,
    )
    return restarted


def _file_identity(path: Path) -> tuple[int, int] | None:
    """Inode and change time: tells a re-created file from the old one even if the inode is reused."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_ctime_ns
