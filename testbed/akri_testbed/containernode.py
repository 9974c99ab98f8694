"""Container nodes: a real kubelet, containerd, runc and kube-proxy per node, each node in its own
network, mount and UTS namespaces (see ``netns`` for the network, ``nodeinit`` for the mounts).

A node's directory ``nodes/<name>/`` holds what the node sees at the standard paths::

    etc-kubernetes/    kubelet.yaml, kube-proxy.yaml, kubeconfigs, ca.crt    → /etc/kubernetes
    etc-containerd/    config.toml, certs.d/_default/hosts.toml (the registry) → /etc/containerd
    etc-cni-net.d/     10-akri-bridge.conflist                                → /etc/cni/net.d
    var-lib-kubelet/   the kubelet's root (device-plugins/, pod-resources/)   → /var/lib/kubelet
    var-lib-akri/      the handlers' sockets                                  → /var/lib/akri
    run-containerd/, var-lib-containerd/, var-lib-cni/, var-log-pods/, var-log-containers/
    sysctl/            what the kubelet reads at /proc/sys/{vm,kernel}/...

So a test in the root namespace reads a node's sockets at ``nodes/<name>/var-lib-kubelet/...``
while pods on the node see them at ``/var/lib/kubelet/...``. Pods' cgroups live under
``/akri-<id>-n<k>`` in every cgroup v1 hierarchy, removed by ``cleanup``.

Render functions are pure; ``prepare``/``cleanup`` act.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from akri_testbed import netns

CGROUP_ROOT = Path("/sys/fs/cgroup")
# Kernel settings the kubelet sets machine-wide unless they already hold its values; inside a
# node they read as those values (bind-mounted files), so nothing outside the node changes.
KUBELET_SYSCTLS = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}
# node directory name → the standard path it is mounted on inside the node.
STANDARD_PATHS = {
    "etc-kubernetes": "/etc/kubernetes",
    "etc-containerd": "/etc/containerd",
    "etc-cni-net.d": "/etc/cni/net.d",
    "var-lib-kubelet": "/var/lib/kubelet",
    "var-lib-akri": "/var/lib/akri",
    "run-containerd": "/run/containerd",
    "var-lib-containerd": "/var/lib/containerd",
    "var-lib-cni": "/var/lib/cni",
    "var-log-pods": "/var/log/pods",
    "var-log-containers": "/var/log/containers",
}
SANDBOX_IMAGE = "registry.k8s.io/pause:3.10.2"
CNI_BIN_DIR = "/usr/lib/cni"
RUNC = "/usr/sbin/runc"


@dataclass(frozen=True)
class ContainerNode:
    """One container node: its name, index, namespaces and directory."""

    name: str
    index: int
    testbed_id: str
    directory: Path

    @property
    def network(self) -> netns.NodeNetwork:
        return netns.NodeNetwork(self.index)

    @property
    def netns(self) -> str:
        return f"{netns.PREFIX}{self.testbed_id}-n{self.index}"

    @property
    def cgroup_root(self) -> str:
        """The kubelet's cgroupRoot: pods' cgroups go below it in every v1 hierarchy."""
        return f"/{netns.PREFIX}{self.testbed_id}-n{self.index}"

    def host_path(self, standard: str) -> Path:
        """Where the node's ``standard`` path (e.g. /var/lib/kubelet/device-plugins) is seen
        from outside the node."""
        for dirname, mounted in STANDARD_PATHS.items():
            if standard == mounted or standard.startswith(mounted + "/"):
                return self.directory / dirname / standard[len(mounted) :].lstrip("/")
        raise ValueError(f"path={standard!r}: not one of the node's own directories")

    @property
    def device_plugin_dir(self) -> Path:
        return self.host_path("/var/lib/kubelet/device-plugins")

    @property
    def pod_resources_socket(self) -> Path:
        return self.host_path("/var/lib/kubelet/pod-resources/kubelet.sock")

    @property
    def containerd_socket(self) -> Path:
        return self.host_path("/run/containerd/containerd.sock")


def kubelet_config(node: ContainerNode) -> dict[str, object]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": node.network.ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": "/etc/kubernetes/ca.crt"},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "containerRuntimeEndpoint": "unix:///run/containerd/containerd.sock",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": node.cgroup_root,
        "cgroupsPerQOS": True,
        "enforceNodeAllocatable": ["pods"],
        "failSwapOn": False,
        "failCgroupV1": False,
        "resolvConf": "",
        "podLogsDir": "/var/log/pods",
        "staticPodPath": "",
        "serializeImagePulls": False,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "nodeStatusUpdateFrequency": "2s",
        "syncFrequency": "5s",
        "fileCheckFrequency": "5s",
        "maxPods": 110,
        "protectKernelDefaults": False,
        "shutdownGracePeriod": "0s",
    }


def kube_proxy_config(node: ContainerNode) -> dict[str, object]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": "/etc/kubernetes/kube-proxy.kubeconfig"},
        "hostnameOverride": node.name,
        "mode": "iptables",
        "clusterCIDR": netns.POD_NETWORK,
        "bindAddress": node.network.ip,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        # Conntrack settings are the machine's, not the node's: leave them alone.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }


def cni_config(node: ContainerNode) -> dict[str, object]:
    return {
        "cniVersion": "1.0.0",
        "name": "akri-testbed",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": node.network.pod_subnet}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def containerd_config() -> str:
    """containerd 2.x configuration (version 4): runc with cgroupfs, the pinned pause image, the
    registry mirror directory, pod network namespaces under the node's own /run/containerd."""
    return f"""version = 4
root = "/var/lib/containerd"
state = "/run/containerd"
# NRI would make its socket in the machine's /run/nri; nothing here uses it.
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "{SANDBOX_IMAGE}"
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = "/etc/containerd/certs.d"

[plugins.'io.containerd.cri.v1.runtime']
  # The machine refuses oom_score_adj below the caller's (no CAP_SYS_RESOURCE): without this,
  # runc fails on the sandbox's -998.
  restrict_oom_score_adj = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "{RUNC}"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["{CNI_BIN_DIR}"]
    conf_dir = "/etc/cni/net.d"
"""


def registry_hosts(registry: str) -> str:
    """``certs.d/_default/hosts.toml``: every image, whatever registry its name says, is pulled
    from the testbed's own registry over plain HTTP, and from nowhere else."""
    return f"""server = "http://{registry}"

[host."http://{registry}"]
  capabilities = ["pull", "resolve"]
"""


def kubeconfig(server: str, token: str, user: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "testbed",
                "cluster": {"server": server, "certificate-authority": "/etc/kubernetes/ca.crt"},
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "testbed", "context": {"cluster": "testbed", "user": user}}],
        "current-context": "testbed",
    }


def nodeinit_config(node: ContainerNode) -> dict[str, object]:
    binds = [[str(node.directory / d), target] for d, target in STANDARD_PATHS.items()]
    masks = [
        [str(node.directory / "sysctl" / key.replace("/", ".")), f"/proc/sys/{key}"]
        for key in KUBELET_SYSCTLS
    ]
    return {"hostname": node.name, "binds": binds, "masks": masks}


def prepare(
    node: ContainerNode,
    *,
    server: str,
    ca_cert: Path,
    kubelet_token: str,
    proxy_token: str,
    registry: str,
) -> list[Path]:
    """Writes the node's directories and files; creates the standard mount points that do not
    exist yet on this machine and the node's cgroups. Returns the mount points it created (empty
    directories that ``cleanup`` removes again)."""
    for dirname in STANDARD_PATHS:
        (node.directory / dirname).mkdir(parents=True, exist_ok=True)
    etc = node.directory / "etc-kubernetes"
    (etc / "ca.crt").write_bytes(ca_cert.read_bytes())
    (etc / "kubelet.yaml").write_text(json.dumps(kubelet_config(node), indent=2))
    (etc / "kube-proxy.yaml").write_text(json.dumps(kube_proxy_config(node), indent=2))
    for filename, token, user in (
        ("kubelet.kubeconfig", kubelet_token, f"system:node:{node.name}"),
        ("kube-proxy.kubeconfig", proxy_token, "system:kube-proxy"),
    ):
        path = etc / filename
        path.write_text(json.dumps(kubeconfig(server, token, user), indent=2))
        path.chmod(0o600)
    containerd_dir = node.directory / "etc-containerd"
    (containerd_dir / "config.toml").write_text(containerd_config())
    hosts = containerd_dir / "certs.d" / "_default"
    hosts.mkdir(parents=True, exist_ok=True)
    (hosts / "hosts.toml").write_text(registry_hosts(registry))
    (node.directory / "etc-cni-net.d" / "10-akri-bridge.conflist").write_text(
        json.dumps(cni_config(node), indent=2)
    )
    sysctl = node.directory / "sysctl"
    sysctl.mkdir(exist_ok=True)
    for key, value in KUBELET_SYSCTLS.items():
        (sysctl / key.replace("/", ".")).write_text(value + "\n")
    (node.directory / "nodeinit.json").write_text(json.dumps(nodeinit_config(node), indent=2))
    created = []
    for target in STANDARD_PATHS.values():
        path = Path(target)
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for p in reversed(missing):
            p.mkdir()
        created.extend(missing)
    for hierarchy in cgroup_hierarchies():
        _make_cgroup(hierarchy / node.cgroup_root.lstrip("/"))
    return created


def cgroup_hierarchies(*, with_unified: bool = False) -> list[Path]:
    """The cgroup v1 hierarchies (and, ``with_unified``, the v2 ``unified`` one, where the kubelet
    makes its pods' cgroups too: the hugetlb controller lives there on this kernel)."""
    return sorted(
        p
        for p in CGROUP_ROOT.iterdir()
        if p.is_dir() and not p.is_symlink() and (with_unified or p.name != "unified")
    )


def _make_cgroup(path: Path) -> None:
    path.mkdir(exist_ok=True)
    if path.parent.name == "cpuset" or (path.parent / "cpuset.cpus").exists():
        for knob in ("cpuset.cpus", "cpuset.mems"):
            own = path / knob
            if own.exists() and not own.read_text().strip():
                own.write_text((path.parent / knob).read_text())


def _cgroup_dirs_bottom_up(path: Path) -> Iterator[Path]:
    if not path.is_dir():
        return
    for child in sorted(p for p in path.iterdir() if p.is_dir()):
        yield from _cgroup_dirs_bottom_up(child)
    yield path


def cgroup_pids(prefix: str) -> set[int]:
    """Every pid in a cgroup whose top-level name starts with ``prefix`` (any hierarchy)."""
    pids: set[int] = set()
    for hierarchy in cgroup_hierarchies(with_unified=True):
        for top in hierarchy.glob(prefix + "*"):
            for cgroup in _cgroup_dirs_bottom_up(top):
                try:
                    text = (cgroup / "cgroup.procs").read_text()
                except OSError:
                    continue
                pids.update(int(line) for line in text.split())
    return pids


def namespace_pids(inodes: set[int], kinds: tuple[str, ...] = ("net", "mnt")) -> set[int]:
    """Every pid whose network or mount namespace is one of ``inodes``."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        for kind in kinds:
            try:
                if os.stat(entry / "ns" / kind).st_ino in inodes:
                    found.add(int(entry.name))
                    break
            except OSError:
                continue
    return found


def kill_all(pids_of: Callable[[], set[int]], *, timeout: float = 10.0) -> None:
    """SIGKILLs what ``pids_of()`` returns until it returns nothing (or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = pids_of() - {os.getpid()}
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    raise RuntimeError(f"processes would not die: {sorted(pids_of())[:20]}")


def remove_cgroups(prefix: str) -> None:
    """Removes every (empty) cgroup whose top-level name starts with ``prefix``, bottom-up."""
    for hierarchy in cgroup_hierarchies(with_unified=True):
        for top in hierarchy.glob(prefix + "*"):
            for cgroup in _cgroup_dirs_bottom_up(top):
                deadline = time.monotonic() + 5.0
                while True:
                    try:
                        cgroup.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
