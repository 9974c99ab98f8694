"""``python -m akri_testbed up|down|status``: the testbed from a shell.

``up`` starts a testbed in ``--dir`` (default ``$AKRI_TESTBED_DIR`` or ``/tmp/akri-testbed``) and
returns once every component is ready, leaving the processes running; ``down`` stops them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from akri_testbed.binaries import BinariesMissingError
from akri_testbed.cluster import Cluster, TestbedError, start_cluster, stop_cluster
from akri_testbed.probes import NotReadyError
from akri_testbed.processes import is_running

DEFAULT_DIR = Path(os.environ.get("AKRI_TESTBED_DIR", "/tmp/akri-testbed"))


def _print(message: str) -> None:
    print(message, flush=True)


def _describe(cluster: Cluster) -> None:
    _print(f"kubeconfig: {cluster.kubeconfig}")
    _print(f"server:     {cluster.server}")
    if cluster.registry:
        _print(f"registry:   {cluster.registry} (images: {', '.join(cluster.images) or 'none'})")
    for node in cluster.nodes:
        if node.directory is not None:
            _print(f"node {node.name}: ip {node.ip}, directories {node.directory}")
            continue
        _print(
            f"node {node.name}: device plugins {node.device_plugin_dir}, pod resources "
            f"{node.pod_resources_socket}, run options {node.run_options_dir}"
        )
    if cluster.startup_seconds:
        ready = ", ".join(
            f"{name} {seconds:.1f}s" for name, seconds in cluster.startup_seconds.items()
        )
        _print(f"ready after: {ready}")


def _image_arg(text: str) -> tuple[str, Path]:
    reference, sep, archive = text.partition("=")
    if not sep or not reference or not archive:
        raise TestbedError(f"--image {text!r}: expected REF=ARCHIVE")
    return reference, Path(archive)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m akri_testbed", description=__doc__)
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="testbed directory (default: %(default)s)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start a testbed and wait until it is ready")
    up.add_argument("--nodes", type=int, default=2, help="number of nodes (default: %(default)s)")
    up.add_argument("--build", action="store_true", help="run testbed/build.sh first")
    up.add_argument(
        "--containers",
        action="store_true",
        help="container nodes (real kubelet, containerd, runc, kube-proxy) instead of the fast"
        " kubelet-less ones",
    )
    up.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="REF=ARCHIVE",
        help="with --containers: push this OCI archive to the testbed's registry as REF"
        " (repeatable)",
    )
    commands.add_parser("down", help="stop the testbed")
    commands.add_parser("status", help="show what runs")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            images = dict(_image_arg(text) for text in args.image)
            cluster = start_cluster(
                args.dir,
                nodes=args.nodes,
                build=args.build,
                report=_print,
                containers=args.containers,
                images=images,
            )
            _describe(cluster)
            _print(f"stop with: python -m akri_testbed --dir {cluster.directory} down")
        elif args.command == "down":
            stopped = stop_cluster(args.dir)
            _print(
                "no testbed recorded there"
                if stopped is None
                else f"stopped {len(stopped.processes)} processes"
            )
        else:
            cluster_or_none = Cluster.load(args.dir.resolve())
            if cluster_or_none is None:
                _print("no testbed recorded there")
                return 1
            _describe(cluster_or_none)
            for proc in cluster_or_none.processes:
                state = "running" if is_running(proc) else "stopped"
                _print(f"{proc.name:<24} pid {proc.pid:<7} {state:<8} log {proc.log}")
    except (TestbedError, NotReadyError, BinariesMissingError) as err:
        print(f"akri_testbed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
