"""``AdmissionReview`` in, ``AdmissionReview`` out: reading the request and building the answer.

Accepts ``admission.k8s.io/v1`` and ``v1beta1`` reviews and answers in the version asked (the API
server checks that). The answer echoes the request's ``uid``; a denial carries a ``Status`` whose
message lists every problem and whose ``details.causes`` name each field. A review without a
``request`` is not a review: ``ReviewError`` (HTTP 400), as upstream answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from akri_webhook.problems import Problem

VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
VALIDATED_OPERATIONS = ("CREATE", "UPDATE")
NO_OBJECT = "AdmissionRequest object contains no data"
MAX_LISTED = 20


class ReviewError(ValueError):
    """The body is not an AdmissionReview request; the caller answers HTTP 400."""


@dataclass(frozen=True)
class Decision:
    """What was decided, for the caller's log and metrics (no object contents)."""

    uid: str
    operation: str
    namespace: str
    name: str
    problems: Sequence[Problem]

    @property
    def allowed(self) -> bool:
        return not self.problems


def review(
    body: Any, validate: Callable[[Any], Sequence[Problem]]
) -> tuple[dict[str, Any], Decision]:
    """The AdmissionReview answering ``body``, and the decision it carries."""
    if not isinstance(body, Mapping):
        raise ReviewError("expected an AdmissionReview object")
    api_version = body.get("apiVersion") or VERSIONS[0]
    if api_version not in VERSIONS:
        raise ReviewError(f"unsupported apiVersion {api_version!r} (use {' or '.join(VERSIONS)})")
    request = body.get("request")
    if not isinstance(request, Mapping):
        raise ReviewError("the AdmissionReview has no request")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError("the AdmissionReview request has no uid")
    operation = str(request.get("operation") or "")
    obj = request.get("object")
    problems: Sequence[Problem]
    if operation and operation not in VALIDATED_OPERATIONS:
        problems = []
    elif obj is None:
        problems = [Problem("request.object", NO_OBJECT)]
    else:
        problems = validate(obj)
    decision = Decision(
        uid=uid,
        operation=operation,
        namespace=str(request.get("namespace") or ""),
        name=str(request.get("name") or _name_of(obj)),
        problems=problems,
    )
    response: dict[str, Any] = {"uid": uid, "allowed": decision.allowed}
    if problems:
        response["status"] = denial(problems)
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": response}, decision


def denial(problems: Sequence[Problem]) -> dict[str, Any]:
    """The ``Status`` of a denial: every problem in the message, each field in the causes."""
    listed = "; ".join(str(p) for p in problems[:MAX_LISTED])
    more = len(problems) - MAX_LISTED
    if more > 0:
        listed += f"; and {more} more"
    count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    return {
        "status": "Failure",
        "code": 422,
        "reason": "Invalid",
        "message": f"invalid Configuration ({count}): {listed}",
        "details": {
            "causes": [
                {"reason": "FieldValueInvalid", "field": p.path, "message": p.reason}
                for p in problems[:MAX_LISTED]
            ]
        },
    }


def _name_of(obj: Any) -> str:
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) else ""
