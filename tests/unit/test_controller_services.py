"""When a broker Service should exist, and when a cached Service already matches the desired one."""

from __future__ import annotations

from typing import Any

import pytest

from akri_controller.reconcilers.services import covers, service_wanted


def pod(phase: str, *, terminating: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "p"}
    if terminating:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": metadata, "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("pods", "exists", "wanted"),
    [
        ([], False, False),
        ([], True, False),
        ([pod("Running")], False, True),
        ([pod("Pending")], False, False),
        ([pod("Pending")], True, True),
        ([pod("Failed"), pod("Succeeded")], True, False),
        ([pod("Running", terminating=True)], True, False),
        ([pod("Running", terminating=True), pod("Pending")], True, True),
        ([pod("Failed"), pod("Running")], False, True),
    ],
)
def test_service_wanted(pods: list[dict[str, Any]], exists: bool, wanted: bool) -> None:
    assert service_wanted(pods, exists=exists) is wanted


@pytest.mark.parametrize(
    ("actual", "desired", "covered"),
    [
        ({"a": 1, "b": 2}, {"a": 1}, True),
        ({"a": 1}, {"a": 2}, False),
        (
            {"spec": {"ports": [{"port": 80, "protocol": "TCP"}]}},
            {"spec": {"ports": [{"port": 80}]}},
            True,
        ),
        (
            {"spec": {"ports": [{"port": 80}]}},
            {"spec": {"ports": [{"port": 80}, {"port": 81}]}},
            False,
        ),
        ({"a": None}, {"a": {}}, False),
        ({}, {"labels": {"x": "y"}}, False),
    ],
)
def test_covers(actual: Any, desired: Any, covered: bool) -> None:
    assert covers(actual, desired) is covered
