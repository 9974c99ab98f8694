"""The container testbed's network: one private network namespace per testbed and one per node.

Nothing of it lives in the machine's own (root) network namespace::

    cluster namespace  akri-<id>        bridge br0 10.200.0.1/24; etcd, the API server, the
                                        controller-manager, the scheduler and the image registry
                                        listen here; routes to every node's pod /24
    node namespace     akri-<id>-n<k>   eth0 10.200.0.<10+k>/24 on br0 (a veth pair), default route
                                        via 10.200.0.1, routes to the other nodes' pod /24s;
                                        kubelet, containerd, kube-proxy and every pod's own network
                                        namespace hang off it (the CNI bridge cni0, 10.244.<k>.0/24)

The addresses repeat in every testbed: each lives in its own namespaces, so two testbeds never meet.
The root namespace reaches the API server (and the registry) only through the loopback forwarder
(``akri_testbed.forward``). Deleting the namespaces deletes every link, address, route and
iptables rule in them.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PREFIX = "akri-"
NETNS_DIR = Path("/run/netns")
BRIDGE = "br0"
GATEWAY_IP = "10.200.0.1"
NODE_NETWORK = "10.200.0.0/24"
POD_NETWORK = "10.244.0.0/16"
SERVICE_NETWORK = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
REGISTRY_PORT = 5000


class NetworkError(RuntimeError):
    """A namespace, link or route could not be made; the message holds the failing command."""


def testbed_id(directory: Path) -> str:
    """A short id for a testbed directory: the namespaces' and cgroups' names carry it."""
    return hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:8]


@dataclass(frozen=True)
class NodeNetwork:
    """Addresses of node ``index`` (1-based)."""

    index: int

    @property
    def ip(self) -> str:
        return f"10.200.0.{10 + self.index}"

    @property
    def pod_subnet(self) -> str:
        return f"10.244.{self.index}.0/24"


@dataclass(frozen=True)
class Network:
    """The namespaces of one container testbed."""

    id: str
    nodes: int

    @property
    def cluster(self) -> str:
        return f"{PREFIX}{self.id}"

    def node(self, index: int) -> str:
        return f"{PREFIX}{self.id}-n{index}"

    @property
    def namespaces(self) -> list[str]:
        return [self.cluster, *(self.node(i) for i in range(1, self.nodes + 1))]


def run(command: Sequence[str]) -> str:
    """Runs one plumbing command; raises NetworkError with its stderr on failure."""
    result = subprocess.run(list(command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NetworkError(f"{' '.join(command)}: {result.stderr.strip()[:500]}")
    return result.stdout


def in_ns(namespace: str, *command: str) -> list[str]:
    """``command`` run inside ``namespace`` (nsenter: unlike ``ip netns exec`` it leaves /sys
    and the cgroup mounts as they are)."""
    return ["nsenter", f"--net={NETNS_DIR / namespace}", "--", *command]


def plumbing(network: Network) -> list[list[str]]:
    """Every command that builds the testbed's network, in order (pure)."""
    cluster = network.cluster
    commands: list[list[str]] = [["ip", "netns", "add", ns] for ns in network.namespaces]
    commands += [["ip", "-n", ns, "link", "set", "lo", "up"] for ns in network.namespaces]
    commands += [
        ["ip", "-n", cluster, "link", "add", BRIDGE, "type", "bridge"],
        ["ip", "-n", cluster, "addr", "add", f"{GATEWAY_IP}/24", "dev", BRIDGE],
        ["ip", "-n", cluster, "link", "set", BRIDGE, "up"],
    ]
    for index in range(1, network.nodes + 1):
        node = NodeNetwork(index)
        ns = network.node(index)
        port = f"veth{index}"
        commands += [
            # Both ends are made inside their namespaces: no link ever shows up in the root one.
            [
                "ip",
                "-n",
                cluster,
                "link",
                "add",
                port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns,
            ],
            ["ip", "-n", cluster, "link", "set", port, "master", BRIDGE, "up"],
            ["ip", "-n", ns, "addr", "add", f"{node.ip}/24", "dev", "eth0"],
            ["ip", "-n", ns, "link", "set", "eth0", "up"],
            ["ip", "-n", ns, "route", "add", "default", "via", GATEWAY_IP],
            ["ip", "-n", cluster, "route", "add", node.pod_subnet, "via", node.ip],
            in_ns(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"),
            in_ns(ns, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"),
            in_ns(ns, "sysctl", "-qw", "net.bridge.bridge-nf-call-ip6tables=1"),
        ]
        for other in range(1, network.nodes + 1):
            if other != index:
                peer = NodeNetwork(other)
                commands.append(["ip", "-n", ns, "route", "add", peer.pod_subnet, "via", peer.ip])
    return commands


def host_plumbing(network: Network, suffix: str, ip: str) -> list[list[str]]:
    """Commands that add a bare host (a simulated camera, a server) on the node network: its own
    namespace ``akri-<id>-<suffix>`` with ``eth0`` at ``ip`` on the bridge, and a route to each
    node's pod /24 via that node, as the nodes have, so that it can answer pods (a broker reading
    a camera): the gateway, its default route, does not forward (pure)."""
    ns = f"{network.cluster}-{suffix}"
    port = f"h-{suffix}"[:15]
    return [
        ["ip", "netns", "add", ns],
        ["ip", "-n", ns, "link", "set", "lo", "up"],
        [
            "ip",
            "-n",
            network.cluster,
            "link",
            "add",
            port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns,
        ],
        ["ip", "-n", network.cluster, "link", "set", port, "master", BRIDGE, "up"],
        ["ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0"],
        ["ip", "-n", ns, "link", "set", "eth0", "up"],
        ["ip", "-n", ns, "route", "add", "default", "via", GATEWAY_IP],
        *(
            ["ip", "-n", ns, "route", "add", node.pod_subnet, "via", node.ip]
            for node in (NodeNetwork(index) for index in range(1, network.nodes + 1))
        ),
    ]


def add_host(network: Network, suffix: str, ip: str) -> str:
    """Adds a host on the node network (see ``host_plumbing``); returns its namespace. ``down``
    removes it with the testbed's other namespaces."""
    ns = f"{network.cluster}-{suffix}"
    try:
        for command in host_plumbing(network, suffix, ip):
            run(command)
    except BaseException:
        delete([ns])
        raise
    return ns


def create(network: Network) -> None:
    """Builds the namespaces, the bridge, the veths and the routes; undoes all on failure."""
    try:
        for command in plumbing(network):
            run(command)
    except BaseException:
        delete(network.namespaces)
        raise


def delete(namespaces: Sequence[str]) -> None:
    """Deletes the namespaces (and with them their links, routes and iptables rules)."""
    for ns in namespaces:
        if (NETNS_DIR / ns).exists():
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True, check=False)


def ours() -> list[str]:
    """Every network namespace on this machine that a container testbed made."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(PREFIX))


def inode(namespace: str) -> int | None:
    """The namespace's inode (what /proc/<pid>/ns/net points at), or None if it is gone."""
    try:
        return (NETNS_DIR / namespace).stat().st_ino
    except OSError:
        return None
