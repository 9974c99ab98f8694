"""Starting and removing the container testbed's nodes, and everything a crash could leave behind.

``start_nodes`` runs, per node: the namespace holder (``nodeinit``), containerd, the kubelet and
kube-proxy, each a tracked process of the cluster joined to the holder's namespaces with
``nsenter --target``. ``purge`` removes, by the testbed's id alone (so it also works when the
launcher was killed and its state file is stale): every process in the testbed's network
namespaces or in its nodes' cgroups (pods, shims), the cgroups, the namespaces, and the empty
mount points the testbed created on this machine.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from akri_testbed import containernode, netns, probes
from akri_testbed.binaries import Binaries
from akri_testbed.processes import Started

TESTBED_DIR = Path(__file__).resolve().parent.parent
NODEINIT_TIMEOUT_S = 15.0
CONTAINERD_TIMEOUT_S = 30.0
CREATED_MOUNTPOINTS = "created-mountpoints.json"

Launch = Callable[[str, list[str], "dict[str, str] | None"], Started]


def node_env(binaries: Binaries) -> dict[str, str]:
    """The environment of a node's processes: containerd's own shim first in PATH."""
    shim_dir = str(binaries["containerd-shim-runc-v2"].parent)
    env = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TZ")}
    env["PATH"] = f"{shim_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env["PYTHONPATH"] = str(TESTBED_DIR)
    return env


def join(holder: Started, *command: str) -> list[str]:
    """``command`` in the namespaces (network, mount, UTS) of a node's holder process."""
    return ["nsenter", f"--target={holder.pid}", "--mount", "--uts", "--net", "--", *command]


def holder_command(node: containernode.ContainerNode) -> list[str]:
    return [
        *netns.in_ns(node.netns, "unshare", "--mount", "--uts", "--propagation", "slave", "--"),
        sys.executable,
        "-m",
        "akri_testbed.nodeinit",
        str(node.directory / "nodeinit.json"),
    ]


def kubelet_command(binaries: Binaries, node: containernode.ContainerNode) -> list[str]:
    return [
        str(binaries["kubelet"]),
        "--config=/etc/kubernetes/kubelet.yaml",
        "--kubeconfig=/etc/kubernetes/kubelet.kubeconfig",
        f"--hostname-override={node.name}",
        f"--node-ip={node.network.ip}",
        "--v=1",
    ]


def start_node(
    binaries: Binaries,
    node: containernode.ContainerNode,
    launch: Launch,
) -> dict[str, Started]:
    """Starts the node's holder, containerd, kubelet and kube-proxy (prepared by
    ``containernode.prepare``); returns them by role once containerd answers."""
    env = node_env(binaries)
    ready_file = node.directory / "ready"
    ready_file.unlink(missing_ok=True)
    holder = launch(f"{node.name}/nodeinit", holder_command(node), env)
    probes.wait_until(
        ready_file.exists,
        what=f"{node.name} namespaces",
        timeout=NODEINIT_TIMEOUT_S,
        process=holder,
    )
    containerd = launch(
        f"{node.name}/containerd",
        join(holder, str(binaries["containerd"]), "--config", "/etc/containerd/config.toml"),
        env,
    )
    probes.wait_until(
        node.containerd_socket.exists,
        what=f"{node.name} containerd",
        timeout=CONTAINERD_TIMEOUT_S,
        process=containerd,
    )
    kubelet = launch(f"{node.name}/kubelet", join(holder, *kubelet_command(binaries, node)), env)
    proxy = launch(
        f"{node.name}/kube-proxy",
        join(
            holder,
            str(binaries["kube-proxy"]),
            "--config=/etc/kubernetes/kube-proxy.yaml",
            f"--hostname-override={node.name}",
            "--v=1",
        ),
        env,
    )
    return {"nodeinit": holder, "containerd": containerd, "kubelet": kubelet, "kube-proxy": proxy}


def record_mountpoints(directory: Path, created: list[Path]) -> None:
    path = directory / CREATED_MOUNTPOINTS
    known = json.loads(path.read_text()) if path.exists() else []
    known.extend(str(p) for p in created if str(p) not in known)
    path.write_text(json.dumps(known))


def purge(directory: Path) -> None:
    """Removes whatever the container testbed of ``directory`` left on this machine."""
    testbed_id = netns.testbed_id(directory)
    prefix = f"{netns.PREFIX}{testbed_id}"
    namespaces = [ns for ns in netns.ours() if ns == prefix or ns.startswith(prefix + "-")]
    inodes = {i for i in (netns.inode(ns) for ns in namespaces) if i is not None}

    def leftovers() -> set[int]:
        return containernode.cgroup_pids(prefix + "-") | containernode.namespace_pids(
            inodes, ("net",)
        )

    containernode.kill_all(leftovers)
    containernode.remove_cgroups(prefix + "-")
    netns.delete(namespaces)
    _remove_mountpoints(directory)


def _remove_mountpoints(directory: Path) -> None:
    """Removes the empty mount points this testbed created, unless another container testbed
    still runs (its nodes' mount namespaces have its directories mounted there)."""
    path = directory / CREATED_MOUNTPOINTS
    if not path.exists():
        return
    if netns.ours():
        return
    for created in sorted(json.loads(path.read_text()), key=len, reverse=True):
        try:
            Path(created).rmdir()
        except OSError:
            continue
    path.unlink()
