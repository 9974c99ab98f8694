"""What a container testbed could leave on this machine, read from the machine itself.

``snapshot()`` reads, in the root namespaces: the processes that run a testbed or container-runtime
binary (or run inside a namespace the testbed made), the mount table, the network namespaces, the
links, the iptables and ip6tables rules, the cgroups of every v1 hierarchy and the kernel settings
that a kubelet or kube-proxy would write. Two snapshots compare equal when nothing of that changed.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("AKRI_TESTBED_CACHE", str(Path.home() / ".cache" / "akri-testbed")))
RUNTIME_BINARIES = ("/usr/sbin/runc", "/usr/bin/runc")
MARKERS = ("akri_testbed", "akri-ctb", "containerd-shim")
KERNEL_SETTINGS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "net/netfilter/nf_conntrack_max",
    "net/ipv4/conf/all/route_localnet",
)
CGROUP_DEPTH = 4


@dataclass(frozen=True)
class Snapshot:
    processes: frozenset[str]
    mounts: frozenset[str]
    namespaces: frozenset[str]
    links: frozenset[str]
    iptables: str
    cgroups: frozenset[str]
    kernel: tuple[tuple[str, str], ...]

    def differences(self, other: Snapshot) -> dict[str, object]:
        """What changed from ``self`` to ``other``, by aspect (empty when nothing did)."""
        changed: dict[str, object] = {}
        for aspect in ("processes", "mounts", "namespaces", "links", "cgroups"):
            before, after = getattr(self, aspect), getattr(other, aspect)
            if before != after:
                changed[aspect] = {
                    "added": sorted(after - before)[:20],
                    "removed": sorted(before - after)[:20],
                }
        if self.iptables != other.iptables:
            changed["iptables"] = {"before": self.iptables[-2000:], "after": other.iptables[-2000:]}
        if self.kernel != other.kernel:
            changed["kernel"] = {"before": self.kernel, "after": other.kernel}
        return changed


def _ours(pid: str) -> str | None:
    try:
        cmdline = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    if pid == str(os.getpid()):
        return None
    if exe.startswith(str(CACHE)) or exe in RUNTIME_BINARIES or any(m in cmdline for m in MARKERS):
        return f"{pid} {cmdline[:200]}"
    return None


def _processes() -> frozenset[str]:
    return frozenset(
        found for entry in os.listdir("/proc") if entry.isdigit() and (found := _ours(entry))
    )


def _run(*command: str) -> str:
    return subprocess.run(list(command), capture_output=True, text=True, check=False).stdout


def _iptables() -> str:
    """Every rule and chain policy of both families, without counters or the dump's comments."""
    lines = (_run("iptables-save") + _run("ip6tables-save")).splitlines()
    return "\n".join(
        re.sub(r" \[\d+:\d+\]$", "", line) for line in lines if not line.startswith("#")
    )


def _cgroups() -> frozenset[str]:
    found: set[str] = set()
    root = Path("/sys/fs/cgroup")
    for hierarchy in root.iterdir():
        if not hierarchy.is_dir():
            continue
        for dirpath, dirnames, _ in os.walk(hierarchy):
            depth = Path(dirpath).relative_to(hierarchy).parts
            if len(depth) >= CGROUP_DEPTH:
                dirnames.clear()
            found.add(f"{hierarchy.name}:{'/'.join(depth)}")
    return frozenset(found)


def _kernel() -> tuple[tuple[str, str], ...]:
    values = []
    for key in KERNEL_SETTINGS:
        try:
            values.append((key, Path(f"/proc/sys/{key}").read_text().strip()))
        except OSError:
            values.append((key, "<absent>"))
    return tuple(values)


def _mounts() -> frozenset[str]:
    # Mount ids change with every mount; keep what a mount is (where, what, how).
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return frozenset(" ".join(line.split()[3:]) for line in lines)


def snapshot() -> Snapshot:
    return Snapshot(
        processes=_processes(),
        mounts=_mounts(),
        namespaces=frozenset(_run("ip", "netns", "list").split()),
        links=frozenset(_run("ip", "-o", "link", "show").splitlines()),
        iptables=_iptables(),
        cgroups=_cgroups(),
        kernel=_kernel(),
    )
