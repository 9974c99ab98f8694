"""The container testbed's image registry and what goes into it.

``crane registry serve`` (go-containerregistry) listens in the testbed's network namespace on
10.200.0.1:5000; every node's containerd pulls every image from it (``certs.d/_default``), so the
kubelets really pull, with the pod's ``imagePullPolicy``. The launcher pushes through the loopback
forwarder: the pause image (Kubernetes' own pause.c, built by ``build.sh``) and our images
(``akri_images``), each under its repository path without a registry host, which is the path
containerd asks for whatever registry the image name says.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path

from akri_testbed.binaries import Binaries


class RegistryError(RuntimeError):
    """An image could not be pushed; the message holds crane's error."""


def serve_command(binaries: Binaries, address: str, disk: Path) -> list[str]:
    return [str(binaries["crane"]), "registry", "serve", "--address", address, "--disk", str(disk)]


def repository_path(reference: str) -> str:
    """``ghcr.io/akri-py/agent:0.1.0`` → ``akri-py/agent:0.1.0``; a name without a registry host
    (no dot, colon or ``localhost`` in its first part) is kept whole."""
    first, sep, rest = reference.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return rest
    return reference


def _crane(binaries: Binaries, *args: str) -> str:
    result = subprocess.run(
        [str(binaries["crane"]), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RegistryError(f"crane {args[0]}: {result.stderr.strip()[:500]}")
    return result.stdout.strip()


def push_pause(binaries: Binaries, registry: str, reference: str) -> str:
    """Pushes a one-layer image holding ``/pause`` as ``reference``; returns its digest."""
    target = f"{registry}/{repository_path(reference)}"
    with tempfile.TemporaryDirectory() as tmp:
        layer = Path(tmp) / "layer.tar"
        with tarfile.open(layer, "w") as tar:
            info = tar.gettarinfo(str(binaries["pause"]), arcname="pause")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            info.mode = 0o755
            with binaries["pause"].open("rb") as f:
                tar.addfile(info, f)
        _crane(
            binaries,
            "append",
            "--oci-empty-base",
            "--new_layer",
            str(layer),
            "--new_tag",
            target,
            "--insecure",
        )
    _crane(
        binaries,
        "mutate",
        target,
        "--tag",
        target,
        "--entrypoint",
        "/pause",
        "--user",
        "65535:65535",
        "--set-platform",
        "linux/amd64",
        "--insecure",
    )
    return _crane(binaries, "digest", target, "--insecure")


def push_archive(binaries: Binaries, registry: str, archive: Path, reference: str) -> str:
    """Pushes an OCI archive (a tar of an OCI image layout) as ``reference``; returns the digest."""
    target = f"{registry}/{repository_path(reference)}"
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        _crane(binaries, "push", tmp, target, "--insecure")
    return _crane(binaries, "digest", target, "--insecure")
