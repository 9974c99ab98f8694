"""AdmissionReview handling: uid echoed, version answered as asked, denials listing every field,
400 for a review without a request, deletes and empty objects as upstream treats them."""

from __future__ import annotations

from typing import Any

import pytest

from akri_webhook.problems import Problem
from akri_webhook.review import NO_OBJECT, ReviewError, review


def _review(api_version: str = "admission.k8s.io/v1", **request: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "AdmissionReview", "request": request}


def _never(_: Any) -> list[Problem]:
    raise AssertionError("must not validate")


def test_admitted_echoes_uid_and_version() -> None:
    body = _review("admission.k8s.io/v1beta1", uid="u-1", operation="CREATE", object={"a": 1})
    answer, decision = review(body, lambda obj: [])
    assert answer == {
        "apiVersion": "admission.k8s.io/v1beta1",
        "kind": "AdmissionReview",
        "response": {"uid": "u-1", "allowed": True},
    }
    assert decision.allowed


def test_denial_lists_every_problem_and_each_field() -> None:
    found = [Problem("spec.a", "unknown field"), Problem("spec.b", "expected a string, got a list")]
    body = _review(
        uid="u-2", operation="UPDATE", namespace="ns", object={"metadata": {"name": "c"}}
    )
    answer, decision = review(body, lambda obj: found)
    response = answer["response"]
    assert response["uid"] == "u-2"
    assert response["allowed"] is False
    status = response["status"]
    assert status["code"] == 422
    assert status["message"] == (
        "invalid Configuration (2 problems): spec.a: unknown field; "
        "spec.b: expected a string, got a list"
    )
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.a", "spec.b"]
    assert (decision.namespace, decision.name, decision.operation) == ("ns", "c", "UPDATE")


def test_long_lists_are_cut() -> None:
    found = [Problem(f"spec.f{i}", "unknown field") for i in range(25)]
    answer, _ = review(_review(uid="u", operation="CREATE", object={}), lambda obj: found)
    assert answer["response"]["status"]["message"].endswith("; and 5 more")


def test_missing_object_is_denied_as_upstream_does() -> None:
    answer, _ = review(_review(uid="u-3", operation="CREATE"), _never)
    assert answer["response"]["allowed"] is False
    assert NO_OBJECT in answer["response"]["status"]["message"]


def test_delete_is_not_validated() -> None:
    answer, _ = review(_review(uid="u-4", operation="DELETE", oldObject={}), _never)
    assert answer["response"] == {"uid": "u-4", "allowed": True}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}, "no request"),
        (_review(operation="CREATE", object={}), "no uid"),
        (_review("admission.k8s.io/v2", uid="u"), "unsupported apiVersion"),
        ([1, 2], "expected an AdmissionReview"),
    ],
)
def test_not_a_review_request(body: Any, reason: str) -> None:
    with pytest.raises(ReviewError, match=reason):
        review(body, _never)
