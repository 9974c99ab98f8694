"""The chart in tests: ``helm lint`` and ``helm template`` with the testbed's helm binary.

``render`` returns the manifests ``helm template`` prints as a list of dicts; ``HelmFailed``
carries helm's own message (a schema refusal names the key's path).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from akri_testbed.binaries import locate

CHART = Path(__file__).resolve().parents[2] / "helm" / "akri"
RELEASE = "akri"


class HelmFailedError(AssertionError):
    """helm exited with an error; ``message`` is its stderr."""

    def __init__(self, command: str, message: str) -> None:
        self.message = message
        super().__init__(f"{command} failed:\n{message}")


def helm_binary() -> Path:
    return locate(build=False)["helm"]


def _run(
    args: Sequence[str],
    values: Sequence[Mapping[str, Any] | Path],
    *,
    kubeconfig: Path | None = None,
    timeout: float = 120,
) -> str:
    with tempfile.TemporaryDirectory(prefix="akri-helm-") as tmp:
        files: list[str] = []
        for i, item in enumerate(values):
            if isinstance(item, Path):
                files += ["-f", str(item)]
            else:
                path = Path(tmp) / f"values-{i}.yaml"
                path.write_text(yaml.safe_dump(dict(item)))
                files += ["-f", str(path)]
        env = {"HOME": tmp, "PATH": "/usr/bin:/bin", "HELM_CACHE_HOME": tmp}
        if kubeconfig is not None:
            env["KUBECONFIG"] = str(kubeconfig)
        result = subprocess.run(
            [str(helm_binary()), *args, *files],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
        )
    if result.returncode != 0:
        raise HelmFailedError(f"helm {args[0]}", result.stderr + result.stdout)
    return result.stdout


def lint(*values: Mapping[str, Any] | Path) -> str:
    """``helm lint --strict`` of the chart with ``values`` (mappings or files), its output."""
    return _run(["lint", str(CHART), "--strict"], values)


def render(
    *values: Mapping[str, Any] | Path, namespace: str = "akri", release: str = RELEASE
) -> list[dict[str, Any]]:
    """``helm template`` of the chart: every manifest, hooks included, as dicts."""
    out = _run(["template", release, str(CHART), "--namespace", namespace], values)
    return [doc for doc in yaml.safe_load_all(out) if doc]


def of_kind(manifests: Sequence[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The rendered objects of ``kind`` by name."""
    return {m["metadata"]["name"]: m for m in manifests if m.get("kind") == kind}


def run_on_cluster(
    kubeconfig: Path, *args: str, values: Sequence[Mapping[str, Any] | Path] = ()
) -> str:
    """``helm <args>`` against the cluster of ``kubeconfig`` (install, upgrade, uninstall...)."""
    return _run(args, values, kubeconfig=kubeconfig, timeout=300)
