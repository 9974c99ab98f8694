"""Routing cache changes to the Instance and Configuration they concern, deletions included."""

from __future__ import annotations

from typing import Any

from akri_common.k8s.store import ObjectKey, Store
from akri_controller.reconcilers.caches import Owners, Routes


def pod(name: str, instance: str, configuration: str, version: str = "1") -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "resourceVersion": version,
            "labels": {"akri.sh/instance": instance, "akri.sh/configuration": configuration},
        }
    }


def owners(instance: str, configuration: str) -> Owners:
    return Owners(instance=ObjectKey("ns", instance), configuration=ObjectKey("ns", configuration))


def test_a_deleted_object_is_routed_by_the_labels_it_had() -> None:
    store = Store()
    routes = Routes(store)
    key = store.upsert(pod("p", "cam-1", "cam"))
    assert routes.owners(key) == (owners("cam-1", "cam"),)
    store.remove(pod("p", "cam-1", "cam"))
    assert routes.owners(key) == (owners("cam-1", "cam"),)
    assert routes.owners(key) == ()


def test_relabelled_object_concerns_both_owners() -> None:
    store = Store()
    routes = Routes(store)
    key = store.upsert(pod("p", "cam-1", "cam"))
    routes.owners(key)
    store.upsert(pod("p", "cam-2", "cam", version="2"))
    assert routes.owners(key) == (owners("cam-1", "cam"), owners("cam-2", "cam"))


def test_unlabelled_object_has_no_owner() -> None:
    store = Store()
    key = store.upsert({"metadata": {"name": "s", "namespace": "ns", "labels": {}}})
    assert Routes(store).owners(key) == (Owners(instance=None, configuration=None),)
