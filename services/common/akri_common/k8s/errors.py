"""Typed Kubernetes API errors, translated once at the boundary, each saying whether a retry helps."""

from __future__ import annotations

import json
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException


class ApiError(Exception):
    """An API request failed. ``retryable`` says whether trying again later can help."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        self.status = status
        self.reason = reason
        super().__init__(message)


class NotFoundError(ApiError):
    retryable = False


class ConflictError(ApiError):
    """409: a conflicting write (an apply conflict, a stale resourceVersion, an existing name)."""


class GoneError(ApiError):
    """410: the resourceVersion is too old; the caller must list again."""


class InvalidError(ApiError):
    """422 or 400: the object was refused as written; retrying the same write cannot help."""

    retryable = False


class ForbiddenError(ApiError):
    """401 or 403: this identity may not do that (RBAC); a retry helps only after RBAC changes."""

    retryable = False


class UnavailableError(ApiError):
    """The API server could not be reached or answered 5xx/429."""


_KINDS: dict[int, type[ApiError]] = {
    400: InvalidError,
    401: ForbiddenError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: InvalidError,
}


def from_status(status: int, body: str | bytes | None, *, action: str) -> ApiError:
    """The typed error for an HTTP status and the ``Status`` body the API server sent with it."""
    message, reason = _status_message(body)
    text = f"{action}: {status} {reason}: {message}".replace(" : ", ": ").rstrip(": ")
    return _KINDS.get(status, UnavailableError)(text, status=status, reason=reason)


def translate(err: BaseException, *, action: str) -> ApiError:
    """The typed error for an exception raised by a ``kubernetes_asyncio`` call."""
    if isinstance(err, ApiException):
        return from_status(int(err.status or 0), err.body, action=action)
    return UnavailableError(f"{action}: {type(err).__name__}: {err}")


def _status_message(body: str | bytes | None) -> tuple[str, str]:
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    try:
        status: Any = json.loads(body) if body else {}
    except ValueError:
        return str(body or ""), ""
    if not isinstance(status, dict):
        return str(body), ""
    return str(status.get("message", "")), str(status.get("reason", ""))
