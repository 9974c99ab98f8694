"""Which Instance changes reach the Configuration reconcile (the agent's own slot writes do not)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from akri_agent.instances.changes import concerns_configuration, configuration_view

BASE: dict[str, Any] = {
    "metadata": {
        "name": "cfg-8120fe",
        "uid": "u1",
        "resourceVersion": "1",
        "ownerReferences": [{"uid": "c1", "controller": True}],
    },
    "spec": {
        "configurationName": "cfg",
        "cdiName": "akri.sh/cfg=8120fe",
        "capacity": 2,
        "brokerProperties": {"A": "1"},
        "shared": True,
        "nodes": ["n1"],
        "deviceUsage": {},
    },
}


def changed(path: str, value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(BASE)
    *parents, leaf = path.split(".")
    target = obj
    for part in parents:
        target = target[part]
    target[leaf] = value
    obj["metadata"]["resourceVersion"] = "2"
    return obj


@pytest.mark.parametrize(
    ("path", "value", "concerns"),
    [
        ("spec.deviceUsage", {"cfg-8120fe-0": "n1"}, False),
        ("metadata.finalizers", ["n1"], False),
        ("metadata.managedFields", [{"manager": "dp-n1"}], False),
        ("metadata.labels", {"a": "b"}, False),
        ("spec.nodes", ["n1", "n2"], True),
        ("spec.nodes", [], True),
        ("spec.capacity", 3, True),
        ("spec.brokerProperties", {"A": "2"}, True),
        ("metadata.uid", "u2", True),
        ("metadata.deletionTimestamp", "2026-01-01T00:00:00Z", True),
        ("metadata.ownerReferences", [{"uid": "c2", "controller": True}], True),
    ],
)
def test_only_changes_the_reconcile_reads_concern_it(path: str, value: Any, concerns: bool) -> None:
    before = configuration_view(BASE)
    after = configuration_view(changed(path, value))
    assert concerns_configuration(before, after) is concerns


def test_added_and_deleted_instances_concern_their_configuration() -> None:
    view = configuration_view(BASE)
    assert view is not None
    assert view.configuration == "cfg"
    assert concerns_configuration(None, view)
    assert concerns_configuration(view, None)
    assert not concerns_configuration(None, configuration_view(None))
