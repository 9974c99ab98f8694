"""Connecting to the API server: a kubeconfig file when one is given, else the in-cluster account."""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import ApiClient, Configuration

from akri_common.k8s.errors import ApiError


class ConnectError(ApiError):
    """No usable credentials: neither a readable kubeconfig nor an in-cluster service account."""

    retryable = False


async def connect(kubeconfig: Path | None = None) -> ApiClient:
    """An API client from ``kubeconfig`` (or ``$KUBECONFIG``), else from the in-cluster account."""
    configuration = Configuration()
    path = kubeconfig or (Path(os.environ["KUBECONFIG"]) if os.environ.get("KUBECONFIG") else None)
    try:
        if path is not None:
            await kube_config.load_kube_config(
                config_file=str(path), client_configuration=configuration
            )
        else:
            kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except (kube_config.ConfigException, OSError) as err:
        where = f"kubeconfig {path}" if path else "the in-cluster service account"
        raise ConnectError(f"cannot load {where}: {err}") from err
    return ApiClient(configuration=configuration)
