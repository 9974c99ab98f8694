"""``python -m akri_testbed.nodeinit CONFIG``: holds one container node's mount and UTS namespaces.

Started by the launcher as ``nsenter --net=<node netns> unshare --mount --uts --propagation slave
python -m akri_testbed.nodeinit node.json``. In its fresh mount namespace it bind-mounts the node's
own directories over the standard paths (``/var/lib/kubelet``, ``/run/containerd``,
``/var/lib/akri``, …), so that a hostPath means on this node what it means on a real host, and
small files over the kernel settings the kubelet would otherwise write machine-wide
(``/proc/sys/vm/overcommit_memory``, …): inside the node they read as the kubelet wants them, so it
changes nothing outside. It sets the node's host name, writes ``ready`` next to its config, and
sleeps until SIGTERM. containerd, the kubelet and kube-proxy join these namespaces with
``nsenter --target <this pid>``; the namespaces end with the last process in them.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any


def _mount_bind(source: str, target: str) -> None:
    subprocess.run(["mount", "--bind", source, target], check=True, capture_output=True)


def setup(config: dict[str, Any]) -> None:
    """Applies the node's binds, kernel-setting masks and host name (in this mount namespace)."""
    for source, target in config["binds"]:
        _mount_bind(source, target)
    for source, target in config["masks"]:
        _mount_bind(source, target)
    hostname = str(config["hostname"])
    subprocess.run(["hostname", hostname], check=True, capture_output=True)
    if socket.gethostname() != hostname:
        raise RuntimeError(f"hostname={hostname!r} did not take")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m akri_testbed.nodeinit CONFIG", file=sys.stderr)
        return 2
    path = Path(args[0])
    config = json.loads(path.read_text())
    try:
        setup(config)
    except (subprocess.CalledProcessError, RuntimeError, OSError) as err:
        detail = getattr(err, "stderr", b"") or b""
        print(f"nodeinit: {err} {detail.decode(errors='replace')}", file=sys.stderr, flush=True)
        return 1
    (path.parent / "ready").write_text("ready\n")
    print(f"nodeinit: {config['hostname']} ready", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    return 0


if __name__ == "__main__":
    # sigwait needs the signals blocked first, or the default action (exit) would win the race.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    sys.exit(main())
