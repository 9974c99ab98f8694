"""Talking to the testbed's real API server from tests: CRDs, objects, waiting on state.

The ``objects`` fixture is a client with both Akri CRDs served; a test module that wants it imports
it and lists it in ``__all__``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import yaml
from akri_testbed.cluster import Cluster

from akri_common.k8s.client import connect
from akri_common.k8s.errors import ConflictError, NotFoundError, UnavailableError
from akri_common.k8s.objects import CONFIGURATION, INSTANCE, POD, JsonObject, Kind, Objects
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


@pytest.fixture
async def objects(testbed: Cluster) -> AsyncIterator[Objects]:
    """A client of the testbed's API server, once both Akri CRDs are served."""
    async with api(testbed.kubeconfig) as client:
        await install_crds(client)
        yield client


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


async def delete_namespace(objects: Objects, name: str, *, timeout: float = 60) -> None:
    """Deletes a namespace and waits until it is gone. Run it once the agents are stopped: the
    finalizers they left on Instances and Configurations are removed by hand first. On a timeout
    the failure lists the pods still there."""
    for kind in (INSTANCE, CONFIGURATION):
        items, _ = await objects.list_all(kind, namespace=name)
        for item in items:
            metadata = item["metadata"]
            if metadata.get("finalizers"):
                with suppress(NotFoundError):
                    await objects.merge_patch(
                        kind,
                        {"metadata": {"finalizers": None}},
                        namespace=name,
                        name=metadata["name"],
                    )
            with suppress(NotFoundError):
                await objects.delete(kind, namespace=name, name=metadata["name"])
    with suppress(NotFoundError):
        await objects.delete(NAMESPACE, namespace=None, name=name)

    async def gone() -> bool:
        try:
            await objects.get(NAMESPACE, namespace=None, name=name)
        except NotFoundError:
            return True
        return False

    try:
        await wait_for(gone, timeout=timeout, what=f"namespace {name} deleted", interval=0.2)
    except AssertionError as err:
        pods, _ = await objects.list_all(POD, namespace=name)
        left = [(p["metadata"]["name"], p["spec"].get("nodeName"), p["status"]) for p in pods]
        raise AssertionError(f"{err}; pods left: {left}") from None


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


def instance(
    name: str,
    configuration: JsonObject,
    nodes: list[str],
    *,
    shared: bool = True,
    usage: dict[str, str] | None = None,
) -> JsonObject:
    """An Instance of ``configuration`` (an object read from the API server, which it is owned by)
    seen by ``nodes``, as an agent would write it: capacity 2, ``deviceUsage`` as given."""
    metadata = configuration["metadata"]
    return {
        "apiVersion": "akri.sh/v0",
        "kind": "Instance",
        "metadata": {
            "name": name,
            "namespace": metadata["namespace"],
            "ownerReferences": [
                {
                    "apiVersion": "akri.sh/v0",
                    "kind": "Configuration",
                    "name": metadata["name"],
                    "uid": metadata["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {
            "configurationName": metadata["name"],
            "cdiName": f"akri.sh/{metadata['name']}=000000",
            "capacity": 2,
            "shared": shared,
            "nodes": nodes,
            "deviceUsage": usage or {},
        },
    }
