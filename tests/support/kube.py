"""Talking to the testbed's real API server from tests: CRDs, objects, waiting on state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import yaml

from akri_common.k8s.client import connect
from akri_common.k8s.errors import ConflictError, NotFoundError, UnavailableError
from akri_common.k8s.objects import CONFIGURATION, INSTANCE, JsonObject, Kind, Objects
from tests.support.processes import wait_for

CRD = Kind(
    "CustomResourceDefinition",
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    namespaced=False,
)
NAMESPACE = Kind("Namespace", "", "v1", "namespaces", namespaced=False)
CRD_DIR = Path(__file__).resolve().parents[2] / "helm" / "akri" / "crds"


@asynccontextmanager
async def api(kubeconfig: Path) -> AsyncIterator[Objects]:
    client = await connect(kubeconfig)
    async with client:
        yield Objects(client)


async def install_crds(objects: Objects) -> None:
    """Creates (or updates) both Akri CRDs and waits until the API server serves them."""
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        await objects.apply(CRD, crd, field_manager="akri-tests", force=True)
    for kind in (CONFIGURATION, INSTANCE):

        async def served(kind: Kind = kind) -> bool:
            try:
                await objects.list_all(kind)
            except (NotFoundError, UnavailableError):  # 404, or 429 while storage initializes
                return False
            return True

        await wait_for(served, timeout=30, what=f"{kind.plural} to be served", interval=0.2)


async def create_namespace(objects: Objects, name: str) -> None:
    with suppress(ConflictError):
        await objects.create(
            NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )


async def instances(objects: Objects, namespace: str) -> dict[str, JsonObject]:
    items, _ = await objects.list_all(INSTANCE, namespace=namespace)
    return {item["metadata"]["name"]: item for item in items}


def configuration(name: str, namespace: str, *descriptions: str, **spec: Any) -> JsonObject:
    return {
        "apiVersion": "akri.sh/v0",
        "kind": "Configuration",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "discoveryHandler": {
                "name": "debugEcho",
                "discoveryDetails": yaml.safe_dump({"descriptions": list(descriptions)}),
            },
            **spec,
        },
    }
