"""One testbed: start it in order, remember what runs in a state file, stop it in reverse.

Layout of a testbed directory::

    .akri-testbed   marks the directory as the testbed's own (``up`` wipes it)
    state.json      what is running (pids with start times), the API server URL and the nodes
    kubeconfig      admin kubeconfig (bearer token, the testbed CA)
    pki/            CA, API-server certificate, service-account keys, tokens.csv
    etcd/           etcd data
    logs/<name>.log one log per component
    nodes/<name>/   a node's kubelet root: device-plugins/, pod-resources/kubelet.sock, pods/
                    (container nodes: the node's own directories, see ``containernode``)
    registry/       the container testbed's image registry (``registry``)

Two kinds of node: the fast kubelet-less node (``akri-testbed-node``: the kubelet's own device
manager, admits pods and runs no container) and, with ``containers=True``, container nodes (a real
kubelet, containerd, runc and kube-proxy in the node's own namespaces, see ``containers``), for
which the control plane runs in the testbed's own network namespace behind a loopback forwarder.
"""

from __future__ import annotations

import functools
import json
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from akri_testbed import (
    components,
    containernode,
    containers,
    kubeconfig,
    netns,
    pki,
    probes,
    registry,
)
from akri_testbed.binaries import CONTAINER_REQUIRED, Binaries, locate
from akri_testbed.processes import Started, is_running, spawn, stop

STATE_FILE = "state.json"
MARKER_FILE = ".akri-testbed"
ETCD_TIMEOUT_S = 30.0
APISERVER_TIMEOUT_S = 60.0
COMPONENT_TIMEOUT_S = 60.0
NODE_TIMEOUT_S = 60.0
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
CONTAINER_NODE_TIMEOUT_S = 90.0


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
    ip: str = ""
    directory: Path | None = None


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
    containers: bool = False
    registry: str = ""
    images: dict[str, str] = field(default_factory=dict)

    @property
    def logs(self) -> dict[str, Path]:
        return {p.name: p.log for p in self.processes}

    def save(self) -> None:
        """Writes the state file whole or not at all (a launcher killed mid-write leaves the last
        complete state, which ``down`` needs)."""
        state = asdict(self)
        partial = self.directory / f".{STATE_FILE}.tmp"
        partial.write_text(json.dumps(state, indent=2, default=str) + "\n")
        partial.replace(self.directory / STATE_FILE)

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
                    ip=str(n.get("ip", "")),
                    directory=Path(n["directory"]) if n.get("directory") else None,
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
            containers=bool(raw.get("containers", False)),
            registry=str(raw.get("registry", "")),
            images={str(k): str(v) for k, v in raw.get("images", {}).items()},
        )

    def process(self, name: str) -> Started:
        """The running process called ``name`` (e.g. ``testbed-node-1/kubelet``)."""
        for proc in self.processes:
            if proc.name == name:
                return proc
        raise TestbedError(f"name={name!r}: not a process of this testbed")


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
    # A container testbed killed with its launcher keeps its nodes' namespaces (and their mounts
    # of this directory) until purged.
    containers.purge(directory)
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
    containers: bool = False,
    images: dict[str, Path] | None = None,
) -> Cluster:
    """Starts etcd → kube-apiserver → kube-controller-manager → kube-scheduler → ``nodes`` nodes.

    Waits for each to be ready (with a deadline), writes the kubeconfig and the state file, and
    returns the cluster. On any failure, stops whatever it started and re-raises. With
    ``die_with_parent`` every process is killed (SIGKILL) when the calling process dies. With
    ``containers`` the nodes are container nodes, and ``images`` (reference → OCI archive) are
    pushed to the testbed's registry before they start.
    """
    directory = directory.resolve()
    _prepare_directory(directory)
    binaries = locate(build=build, required=CONTAINER_REQUIRED if containers else None)
    cluster = Cluster(directory=directory, die_with_parent=die_with_parent, containers=containers)
    cluster.save()
    try:
        _start(
            cluster,
            binaries,
            node_count=nodes,
            report=report,
            die_with_parent=die_with_parent,
            images=images or {},
        )
    except BaseException:
        _stop_all(cluster)
        raise
    return cluster


@dataclass
class _Launcher:
    """Starts the testbed's processes one by one, recording each in the state file."""

    cluster: Cluster
    report: Callable[[str], None]
    die_with_parent: bool
    wrap: Callable[[list[str]], list[str]] = field(default=lambda command: command)
    started: float = field(default_factory=time.monotonic)

    def launch(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Started:
        log = self.cluster.directory / "logs" / f"{name.replace('/', '-')}.log"
        proc = spawn(name, command, log, env=env, die_with_parent=self.die_with_parent)
        self.cluster.processes.append(proc)
        self.cluster.save()
        self.report(f"{name:<24} pid {proc.pid:<7} log {proc.log}")
        return proc

    def control_plane(self, name: str, command: list[str]) -> Started:
        """A control-plane process: in the testbed's network namespace for a container testbed."""
        return self.launch(name, self.wrap(command))

    def ready(
        self, name: str, proc: Started, condition: Callable[[], bool], timeout: float
    ) -> None:
        probes.wait_until(condition, what=name, timeout=timeout, process=proc)
        self.cluster.startup_seconds[name] = round(time.monotonic() - self.started, 2)


@dataclass(frozen=True)
class _Tokens:
    """Bearer tokens: the admin's, and on container nodes each kubelet's and kube-proxy's."""

    admin: str
    nodes: dict[str, str]
    proxy: str

    @classmethod
    def generate(cls, node_count: int) -> _Tokens:
        names = [f"testbed-node-{index}" for index in range(1, node_count + 1)]
        return cls(
            admin=secrets.token_hex(24),
            nodes={name: secrets.token_hex(24) for name in names},
            proxy=secrets.token_hex(24),
        )

    def write(self, path: Path, *, containers: bool) -> None:
        lines = [f"{self.admin},admin,admin,system:masters"]
        if containers:
            # Container nodes authenticate as what they are: the Node authorizer scopes each
            # kubelet to its own node; kube-proxy gets the built-in system:node-proxier binding.
            lines += [f'{t},system:node:{n},node-{n},"system:nodes"' for n, t in self.nodes.items()]
            lines.append(f"{self.proxy},system:kube-proxy,kube-proxy")
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)


def _start(
    cluster: Cluster,
    binaries: Binaries,
    *,
    node_count: int,
    report: Callable[[str], None],
    die_with_parent: bool,
    images: dict[str, Path],
) -> None:
    directory = cluster.directory
    certs = pki.generate(directory / "pki")
    tokens = _Tokens.generate(node_count)
    cluster.token = tokens.admin
    token_file = directory / "pki" / "tokens.csv"
    tokens.write(token_file, containers=cluster.containers)
    ports = components.Ports(*free_ports(5))
    cluster.server = f"https://127.0.0.1:{ports.apiserver}"
    cluster.ca_cert = certs.ca_cert
    launcher = _Launcher(cluster, report, die_with_parent)
    network = netns.Network(netns.testbed_id(directory), node_count)
    if cluster.containers:
        _start_network(launcher, binaries, network, ports)

    etcd = launcher.control_plane("etcd", components.etcd(binaries, ports, directory / "etcd"))
    etcd_health = f"http://127.0.0.1:{ports.etcd_client}/health"
    launcher.ready(
        "etcd", etcd, lambda: b'"true"' in probes.http_get(etcd_health)[1], ETCD_TIMEOUT_S
    )
    apiserver = launcher.control_plane(
        "kube-apiserver",
        components.apiserver(
            binaries,
            ports,
            certs,
            token_file,
            advertise_address=netns.GATEWAY_IP if cluster.containers else None,
        ),
    )

    def apiserver_ready() -> bool:
        status, _ = probes.http_get(
            f"{cluster.server}/readyz", token=cluster.token, ca_cert=certs.ca_cert
        )
        return status == 200

    launcher.ready("kube-apiserver", apiserver, apiserver_ready, APISERVER_TIMEOUT_S)
    cluster.kubeconfig = kubeconfig.write(
        directory / "kubeconfig", server=cluster.server, ca_cert=certs.ca_cert, token=cluster.token
    )
    kcm = launcher.control_plane(
        "kube-controller-manager",
        components.controller_manager(
            binaries, ports, cluster.kubeconfig, directory / "kcm-certs", certs.ca_cert
        ),
    )
    sched = launcher.control_plane(
        "kube-scheduler",
        components.scheduler(binaries, ports, cluster.kubeconfig, directory / "scheduler-certs"),
    )
    if cluster.containers:
        _start_container_nodes(
            launcher,
            binaries,
            network=network,
            images=images,
            tokens=tokens,
            apiserver_port=ports.apiserver,
        )
    else:
        _start_fast_nodes(launcher, binaries, node_count)

    def healthz(port: int) -> Callable[[], bool]:
        return lambda: probes.http_get(f"https://127.0.0.1:{port}/healthz")[0] == 200

    launcher.ready(
        "kube-controller-manager", kcm, healthz(ports.controller_manager), COMPONENT_TIMEOUT_S
    )
    launcher.ready("kube-scheduler", sched, healthz(ports.scheduler), COMPONENT_TIMEOUT_S)
    for info in cluster.nodes:
        proc = cluster.process(f"{info.name}/kubelet" if cluster.containers else info.name)
        launcher.ready(
            info.name,
            proc,
            functools.partial(node_is_ready, cluster, info.name),
            CONTAINER_NODE_TIMEOUT_S if cluster.containers else NODE_TIMEOUT_S,
        )
    cluster.save()


def _start_fast_nodes(launcher: _Launcher, binaries: Binaries, node_count: int) -> None:
    cluster = launcher.cluster
    for index in range(1, node_count + 1):
        name = f"testbed-node-{index}"
        dirs = components.NodeDirs(cluster.directory / "nodes" / name)
        proc = launcher.launch(name, components.node(binaries, name, dirs, cluster.kubeconfig))
        cluster.nodes.append(
            NodeInfo(
                name=name,
                root_dir=dirs.root,
                device_plugin_dir=dirs.device_plugins,
                pod_resources_socket=dirs.pod_resources_socket,
                run_options_dir=dirs.run_options,
                log=proc.log,
            )
        )
    cluster.save()


def _start_network(
    launcher: _Launcher, binaries: Binaries, network: netns.Network, ports: components.Ports
) -> None:
    """The container testbed's namespaces, and the forwarder that makes its control plane and
    registry reachable on this namespace's loopback."""
    cluster = launcher.cluster
    netns.create(network)
    cluster.registry = f"127.0.0.1:{free_ports(1)[0]}"
    control_plane = (ports.etcd_client, ports.apiserver, ports.controller_manager, ports.scheduler)
    forwards = [f"127.0.0.1:{port}=127.0.0.1:{port}" for port in control_plane]
    forwards.append(f"{cluster.registry}={netns.GATEWAY_IP}:{netns.REGISTRY_PORT}")
    command = [sys.executable, "-m", "akri_testbed.forward"]
    command += ["--netns", str(netns.NETNS_DIR / network.cluster), *forwards]
    launcher.launch("forward", command, containers.node_env(binaries))
    launcher.wrap = functools.partial(_in_ns, network.cluster)


def _in_ns(namespace: str, command: list[str]) -> list[str]:
    return netns.in_ns(namespace, *command)


def _start_container_nodes(
    launcher: _Launcher,
    binaries: Binaries,
    *,
    network: netns.Network,
    images: dict[str, Path],
    tokens: _Tokens,
    apiserver_port: int,
) -> None:
    """The registry (with the pause image and ``images``), then each node's processes."""
    cluster = launcher.cluster
    directory = cluster.directory
    (directory / "registry").mkdir(exist_ok=True)
    launcher.launch(
        "registry",
        netns.in_ns(
            network.cluster,
            *registry.serve_command(
                binaries,
                f"{netns.GATEWAY_IP}:{netns.REGISTRY_PORT}",
                directory / "registry",
            ),
        ),
    )
    probes.wait_until(
        lambda: probes.http_get(f"http://{cluster.registry}/v2/")[0] == 200,
        what="registry",
        timeout=COMPONENT_TIMEOUT_S,
        process=cluster.process("registry"),
    )
    cluster.images[containernode.SANDBOX_IMAGE] = registry.push_pause(
        binaries, cluster.registry, containernode.SANDBOX_IMAGE
    )
    for reference, archive in images.items():
        cluster.images[reference] = registry.push_archive(
            binaries, cluster.registry, archive, reference
        )
        launcher.report(f"image {reference} pushed")
    cluster.save()
    node_server = f"https://{netns.GATEWAY_IP}:{apiserver_port}"
    for index in range(1, network.nodes + 1):
        name = f"testbed-node-{index}"
        node = containernode.ContainerNode(
            name=name, index=index, testbed_id=network.id, directory=directory / "nodes" / name
        )
        created = containernode.prepare(
            node,
            server=node_server,
            ca_cert=cluster.ca_cert,
            kubelet_token=tokens.nodes[name],
            proxy_token=tokens.proxy,
            registry=f"{netns.GATEWAY_IP}:{netns.REGISTRY_PORT}",
        )
        containers.record_mountpoints(directory, created)
        started = containers.start_node(binaries, node, launcher.launch)
        cluster.nodes.append(
            NodeInfo(
                name=name,
                root_dir=node.host_path("/var/lib/kubelet"),
                device_plugin_dir=node.device_plugin_dir,
                pod_resources_socket=node.pod_resources_socket,
                run_options_dir=node.directory,
                log=started["kubelet"].log,
                ip=node.network.ip,
                directory=node.directory,
            )
        )
        cluster.save()


def add_host(cluster: Cluster, suffix: str, ip: str) -> str:
    """A host of its own on a container testbed's node network (``netns.add_host``): returns the
    path of its network namespace, for ``nsenter --net=<path>``."""
    if not cluster.containers:
        raise TestbedError("add_host: only a container testbed has a node network")
    network = netns.Network(netns.testbed_id(cluster.directory), len(cluster.nodes))
    return str(netns.NETNS_DIR / netns.add_host(network, suffix, ip))


def container_node(cluster: Cluster, name: str) -> containernode.ContainerNode:
    """The container node ``name`` of a running container testbed."""
    index = next((i for i, n in enumerate(cluster.nodes, start=1) if n.name == name), None)
    if index is None or not cluster.containers:
        raise TestbedError(f"node={name!r}: not a container node of this testbed")
    return containernode.ContainerNode(
        name=name,
        index=index,
        testbed_id=netns.testbed_id(cluster.directory),
        directory=cluster.directory / "nodes" / name,
    )


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
    """Stops every process in reverse start order; returns the names of those that would not stop.
    A container testbed is then purged: pods, shims, cgroups, namespaces and mount points."""
    stubborn = []
    for proc in reversed(cluster.processes):
        try:
            stop(proc)
        except RuntimeError:
            stubborn.append(proc.name)
    if cluster.containers:
        containers.purge(cluster.directory)
    return stubborn


def stop_cluster(directory: Path) -> Cluster | None:
    """Stops the testbed recorded in ``directory`` (if any); keeps logs, removes the state file."""
    cluster = Cluster.load(directory.resolve())
    if cluster is None:
        if (directory / MARKER_FILE).exists():
            containers.purge(directory.resolve())
        return None
    stubborn = _stop_all(cluster)
    # Whatever the state file says, nothing of a container testbed of this directory survives
    # (processes started by a launcher killed before it recorded them, their cgroups).
    containers.purge(cluster.directory)
    if stubborn:
        raise TestbedError(f"could not stop: {', '.join(stubborn)}")
    (cluster.directory / STATE_FILE).unlink(missing_ok=True)
    return cluster


def restart_node(cluster: Cluster, name: str, *, timeout: float = NODE_TIMEOUT_S) -> Started:
    """Stops node ``name`` and starts it again with the same command line, as a kubelet restart:
    the new process re-creates ``kubelet.sock`` (removing the plugins' sockets), so device plugins
    must register again. Returns once the new kubelet.sock exists and the node is Ready. On a
    container node only the kubelet restarts: containerd and the running containers stay."""
    process_name = f"{name}/kubelet" if cluster.containers else name
    index = next((i for i, p in enumerate(cluster.processes) if p.name == process_name), None)
    if index is None:
        raise TestbedError(f"node={name!r}: not a process of this testbed")
    old = cluster.processes[index]
    socket_path = (
        next(n.device_plugin_dir for n in cluster.nodes if n.name == name) / "kubelet.sock"
    )
    old_identity = _file_identity(socket_path)
    stop(old)
    restarted = spawn(process_name, old.command, old.log, die_with_parent=cluster.die_with_parent)
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
