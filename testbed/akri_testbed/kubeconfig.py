"""The admin kubeconfig of a testbed: token auth against the loopback API server."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

CONTEXT = "akri-testbed"


def render(*, server: str, ca_cert: Path, token: str) -> str:
    """A kubeconfig with one cluster, one user (bearer token) and one current context."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "admin"}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: Path, *, server: str, ca_cert: Path, token: str) -> Path:
    """Writes the kubeconfig readable by the owner only; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(server=server, ca_cert=ca_cert, token=token))
    path.chmod(0o600)
    return path
