"""Where the testbed binaries are: asks ``testbed/build.sh --paths``, and builds what is missing.

``locate(build=False)["kubectl"]`` is the path of a binary; ``build_records()`` says where each
component's build record (``build-record.json``: seconds per step of the build that produced the
cached binaries) is."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

TESTBED_DIR = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = TESTBED_DIR / "build.sh"
REQUIRED = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "akri-testbed-node",
    "akri-testbed-stub-plugin",
    "helm",
)
# What a container testbed needs on top (see build.sh).
CONTAINER_REQUIRED = (
    *REQUIRED,
    "kubelet",
    "kube-proxy",
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "crane",
    "pause",
)


class BinariesMissingError(RuntimeError):
    """A testbed binary is not built; running ``testbed/build.sh`` fixes it."""


@dataclass(frozen=True)
class Binaries:
    """Absolute paths of every testbed binary, by name."""

    paths: dict[str, Path]

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]


def parse_paths(output: str) -> dict[str, Path]:
    """Parses ``name=/abs/path`` lines as printed by ``build.sh --paths``."""
    paths: dict[str, Path] = {}
    for line in output.splitlines():
        name, sep, path = line.partition("=")
        if sep and name.strip():
            paths[name.strip()] = Path(path.strip())
    return paths


def locate(*, build: bool, required: tuple[str, ...] | None = None) -> Binaries:
    """Returns the binaries, building missing ones first when ``build`` is set; ``required``
    (default: the fast testbed's) must all exist."""
    if build:
        subprocess.run(["bash", str(BUILD_SCRIPT)], check=True)
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--paths"], check=True, capture_output=True, text=True
    )
    paths = parse_paths(result.stdout)
    missing = [
        name for name in (required or REQUIRED) if name not in paths or not paths[name].is_file()
    ]
    if missing:
        raise BinariesMissingError(
            f"not built: {', '.join(missing)}; run `bash {BUILD_SCRIPT}` (the first build takes"
            " about 8 minutes on 2 cores)"
        )
    return Binaries(paths)


def build_records() -> dict[str, dict[str, object] | None]:
    """Each component's build record (see ``build.sh``), or None where the cached binaries were
    built before build.sh kept records (or are not built)."""
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--records"], check=True, capture_output=True, text=True
    )
    records: dict[str, dict[str, object] | None] = {}
    for component, path in parse_paths(result.stdout).items():
        try:
            records[component] = json.loads(path.read_text())
        except FileNotFoundError:
            records[component] = None
    return records
