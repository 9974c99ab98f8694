"""This node's finalizers as upstream's agent writes them, beside an upstream agent (issue 12)."""

from __future__ import annotations

import contextlib
import json

import pytest

from akri_agent.finalizers import set_finalizer
from akri_common.ids import NodeName
from akri_common.k8s.errors import ApiError, NotFoundError
from akri_common.k8s.objects import (
    CONFIGURATION,
    INSTANCE,
    JsonObject,
)
from tests.integration.agent_bed import (
    Bed,
    bed,
    instance_count_is,
)
from tests.support import kube
from tests.support.kube import objects
from tests.support.processes import wait_for

__all__ = ["bed", "objects"]


# -- 8. finalizers as upstream writes them; mixed with an upstream agent ---------------------


def finalizer_owners(obj: JsonObject) -> dict[str, str]:
    """Finalizer entry -> the field manager that owns it."""
    owners = {}
    for entry in obj["metadata"].get("managedFields") or ():
        fields = (entry.get("fieldsV1") or {}).get("f:metadata", {}).get("f:finalizers", {})
        for key in fields:
            if key.startswith("v:"):
                owners[json.loads(key[2:])] = entry["manager"]
    return owners


async def test_finalizers_are_written_as_upstream_and_mix_with_an_upstream_agent(bed: Bed) -> None:
    """Our agent on the first node, upstream's agent on the second node played by its writes
    (server-side applies as ``<node>`` and ``<node>-fin``): each keeps exactly its own entries."""
    await bed.start_agents(shared=True)
    ours, theirs = bed.nodes
    await bed.processes.stop(theirs.agent)
    config = await bed.apply("cams", "foo0")
    (name,) = await _wait_names(bed, 1)

    def partial(kind: str, obj_name: str, finalizers: list[str]) -> JsonObject:
        return {
            "apiVersion": "akri.sh/v0",
            "kind": kind,
            "metadata": {"name": obj_name, "namespace": bed.namespace, "finalizers": finalizers},
        }

    upstream_fin = f"{theirs.name}-fin"
    instance = (await bed.instances())[name]
    await bed.objects.apply(
        INSTANCE,
        {
            "apiVersion": "akri.sh/v0",
            "kind": "Instance",
            "metadata": {"name": name, "namespace": bed.namespace},
            "spec": {**instance["spec"], "nodes": [theirs.name], "deviceUsage": {}},
        },
        field_manager=theirs.name,
    )
    await bed.objects.apply(CONFIGURATION, partial("Configuration", "cams", [theirs.name]),
                            field_manager=upstream_fin)  # fmt: skip
    await bed.objects.apply(INSTANCE, partial("Instance", name, [theirs.name]),
                            field_manager=upstream_fin)  # fmt: skip

    async def both_hold() -> bool:
        obj = (await bed.instances())[name]
        return set(obj["metadata"].get("finalizers") or ()) == {ours.name, theirs.name}

    await wait_for(both_hold, timeout=10, what="both nodes' Instance finalizers", interval=0.1)
    expected = {ours.name: f"{ours.name}-fin", theirs.name: upstream_fin}
    assert finalizer_owners((await bed.instances())[name]) == expected
    config = await bed.objects.get(CONFIGURATION, namespace=bed.namespace, name="cams")
    assert finalizer_owners(config) == expected

    # Our device goes: our node leaves the Instance and drops its finalizer, upstream's stay.
    ours.availability.write_text("OFFLINE")

    async def only_theirs() -> bool:
        obj = (await bed.instances())[name]
        return bool(
            obj["spec"]["nodes"] == [theirs.name]
            and obj["metadata"].get("finalizers") == [theirs.name]
        )

    await wait_for(only_theirs, timeout=10, what="our node gone from the Instance", interval=0.1)

    # The Configuration is deleted: we remove our finalizer, upstream's stays until it acts.
    await bed.objects.delete(CONFIGURATION, namespace=bed.namespace, name="cams")

    async def ours_removed() -> bool:
        obj = await bed.objects.get(CONFIGURATION, namespace=bed.namespace, name="cams")
        return bool(obj["metadata"].get("finalizers") == [theirs.name])

    await wait_for(ours_removed, timeout=10, what="our Configuration finalizer removed")
    for kind, obj_name, body_kind in ((INSTANCE, name, "Instance"),
                                      (CONFIGURATION, "cams", "Configuration")):  # fmt: skip
        await bed.objects.apply(kind, partial(body_kind, obj_name, []), field_manager=upstream_fin)
    # Garbage collection of the deleted Configuration may have taken the Instance already, once
    # no finalizer held it.
    with contextlib.suppress(NotFoundError):
        await bed.objects.delete(INSTANCE, namespace=bed.namespace, name=name)

    async def all_gone() -> bool:
        left, _ = await bed.objects.list_all(CONFIGURATION, namespace=bed.namespace)
        return not left and not await bed.instances()

    await wait_for(all_gone, timeout=10, what="Configuration and Instance gone")


async def _wait_names(bed: Bed, count: int) -> list[str]:
    await wait_for(lambda: instance_count_is(bed, count), timeout=15, what=f"{count} Instances")
    return sorted(await bed.instances())


async def test_a_finalizer_is_never_applied_to_a_deleted_object(bed: Bed) -> None:
    """The agent's finalizer apply names the uid it read: on a Configuration that was deleted
    meanwhile it fails instead of creating an empty Configuration."""
    body = kube.configuration("short-lived", bed.namespace, "foo0")
    created = await bed.objects.apply(CONFIGURATION, body, field_manager="akri-tests")
    await bed.objects.delete(CONFIGURATION, namespace=bed.namespace, name="short-lived")
    with pytest.raises(ApiError):
        await set_finalizer(bed.objects, CONFIGURATION, created, NodeName("n1"), present=True)
    with pytest.raises(NotFoundError):
        await bed.objects.get(CONFIGURATION, namespace=bed.namespace, name="short-lived")
