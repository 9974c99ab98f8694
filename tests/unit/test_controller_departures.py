"""Nodes that left: when a node counts as gone, and the patch that frees it from an Instance."""

from __future__ import annotations

from typing import Any

import pytest

from akri_common.crds.usage import usage_node
from akri_common.ids import NodeName
from akri_controller.departures import DELETED, departure, forget_patch, is_ready


def node(*conditions: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": "n"},
        "status": {
            "conditions": [
                {"type": t, "status": s, "lastTransitionTime": when} for t, s, when in conditions
            ]
        },
    }


@pytest.mark.parametrize(
    ("obj", "ready", "marker"),
    [
        (node(("Ready", "True", "t1")), True, None),
        (node(("MemoryPressure", "False", "t0"), ("Ready", "True", "t1")), True, None),
        (node(("Ready", "False", "t2")), False, "not-ready:t2"),
        (node(("Ready", "Unknown", "t3")), False, "not-ready:t3"),
        (node(("Ready", "True", "t1"), ("Ready", "False", "t4")), False, "not-ready:t4"),
        (node(), False, "not-ready:never"),
        (None, False, DELETED),
    ],
)
def test_departure(obj: dict[str, Any] | None, ready: bool, marker: str | None) -> None:
    if obj is not None:
        assert is_ready(obj) is ready
    assert departure(obj) == marker


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ("", None),
        ("node-a", "node-a"),
        ("C:cam-0:node-a", "node-a"),
        ("X:y:z", None),
        ("a:b", None),
        ("C::node-a", None),
        ("C:cam-0:", None),
    ],
)
def test_usage_node(usage: str, expected: str | None) -> None:
    assert usage_node(usage) == expected


def instance(nodes: list[str], usage: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": "i", "namespace": "ns", "resourceVersion": "42"},
        "spec": {"nodes": nodes, "deviceUsage": usage},
    }


@pytest.mark.parametrize(
    ("nodes", "usage", "spec_patch"),
    [
        (["a", "b"], {}, {"nodes": ["b"]}),
        (
            ["a", "b"],
            {"i-0": "a", "i-1": "C:cam-1:a", "i-2": "b", "i-3": ""},
            {"nodes": ["b"], "deviceUsage": {"i-0": "", "i-1": ""}},
        ),
        (["b"], {"i-0": "a"}, {"deviceUsage": {"i-0": ""}}),
        (["b"], {"i-0": "b"}, None),
        ([], {}, None),
    ],
)
def test_forget_patch(
    nodes: list[str], usage: dict[str, str], spec_patch: dict[str, Any] | None
) -> None:
    patch = forget_patch(instance(nodes, usage), NodeName("a"))
    if spec_patch is None:
        assert patch is None
    else:
        assert patch == {"metadata": {"resourceVersion": "42"}, "spec": spec_patch}


@pytest.mark.parametrize(
    ("nodes", "finalizers", "expected"),
    [
        (["a", "b"], ["a", "b"], {"metadata": {"resourceVersion": "42", "finalizers": ["b"]},
                                  "spec": {"nodes": ["b"]}}),
        # The node left `nodes` already, its agent is gone: only its finalizer is left to remove.
        (["b"], ["b", "a"], {"metadata": {"resourceVersion": "42", "finalizers": ["b"]}}),
        ([], ["a"], {"metadata": {"resourceVersion": "42", "finalizers": []}}),
        (["b"], ["b"], None),
    ],
)  # fmt: skip
def test_forget_patch_removes_the_nodes_finalizer(
    nodes: list[str], finalizers: list[str], expected: dict[str, Any] | None
) -> None:
    obj = instance(nodes, {})
    obj["metadata"]["finalizers"] = finalizers
    assert forget_patch(obj, NodeName("a")) == expected
