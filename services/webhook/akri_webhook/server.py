"""The HTTPS server: ``POST /validate`` (AdmissionReview), ``GET /healthz`` and ``GET /readyz``.

TLS through the standard ``ssl`` module, TLS 1.2 or newer, certificate and key from the files the
chart mounts. ``/validate`` answers 503 until the Kubernetes schemas are loaded (``/readyz`` says
when), 400 with one line for a body that is not an AdmissionReview request (not JSON, nested past
``MAX_DEPTH``, not a review), else 200 with the review. Logs name the request (uid, operation,
namespace, name) and the paths of the problems, never field values, each field bounded.

No client can hold the event loop: the body must arrive within the request timeout, and parsing
and validation run in one worker thread (one review at a time, at most ``MAX_WAITING`` waiting:
more are answered 503), bounded by the validation timeout; a review that runs past it is denied
with a message saying so. ``/healthz`` answers meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from akri_common.prometheus import REGISTRY
from akri_common.shown import shown
from akri_webhook.problems import Problem
from akri_webhook.review import Decision, ReviewError, review
from akri_webhook.schemas import SchemaSet
from akri_webhook.validation import validate_configuration

log = structlog.get_logger(__name__)

MAX_BODY = 8 * 1024 * 1024  # a review carries the object and the old object, each up to ~3 MiB
#: Deeper JSON is refused before validation (a real Configuration is a few dozen levels deep).
MAX_DEPTH = 100
MAX_WAITING = 8
MAX_LOGGED = 128
REVIEWS = REGISTRY.counter(
    "akri_webhook_reviews",
    "AdmissionReviews answered, by operation and decision",
    ["operation", "allowed"],
)
REVIEW_SECONDS = REGISTRY.histogram(
    "akri_webhook_review_seconds", "Time to validate one Configuration"
)


def tls_context(crt: Path, key: Path) -> ssl.SSLContext:
    """A server context: TLS 1.2+, the default (secure) cipher choice, this certificate and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=crt, keyfile=key)
    return context


class Validator:
    """Holds the current schema set (None until loaded) and answers the HTTP routes."""

    def __init__(
        self,
        schemas: SchemaSet | None = None,
        *,
        request_timeout: float = 10.0,
        validation_timeout: float = 5.0,
    ) -> None:
        self.schemas = schemas
        self.request_timeout = request_timeout
        self.validation_timeout = validation_timeout
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="akri-validate")
        self._waiting = 0

    def close(self) -> None:
        """Stops the worker thread (a review still running finishes first)."""
        self._worker.shutdown(wait=False, cancel_futures=True)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.add_routes(
            [
                web.post("/validate", self.validate),
                web.get("/healthz", self.healthz),
                web.get("/readyz", self.readyz),
            ]
        )
        return app

    async def healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, _: web.Request) -> web.Response:
        if self.schemas is None:
            return web.Response(status=503, text="Kubernetes schemas not loaded yet\n")
        return web.Response(text="ok\n")

    async def validate(self, request: web.Request) -> web.Response:
        schemas = self.schemas
        if schemas is None:
            return web.Response(status=503, text="Kubernetes schemas not loaded yet\n")
        raw = await self._body(request)
        if isinstance(raw, web.Response):
            return raw
        if self._waiting >= MAX_WAITING:
            log.warning("review_refused", reason="too many reviews waiting")
            return _plain(503, "too many reviews waiting; retry")
        self._waiting += 1
        log.debug("review_started", size=len(raw))
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        job = loop.run_in_executor(self._worker, _answer, raw, schemas)
        try:
            answer, decision = await asyncio.wait_for(job, self.validation_timeout)
        except ReviewError as err:
            log.warning("review_refused", reason=_bounded(str(err)))
            return _plain(400, str(err))
        except TimeoutError:
            log.warning("review_timed_out", seconds=self.validation_timeout)
            return _plain(503, f"validation took longer than {self.validation_timeout:g}s; retry")
        finally:
            self._waiting -= 1
        REVIEW_SECONDS.observe(time.perf_counter() - started)
        REVIEWS.labels(
            operation=decision.operation or "-", allowed=str(decision.allowed).lower()
        ).inc()
        log.info(
            "configuration_reviewed",
            uid=_bounded(decision.uid),
            operation=_bounded(decision.operation),
            namespace=_bounded(decision.namespace),
            name=_bounded(decision.name),
            allowed=decision.allowed,
            problems=_paths(decision.problems),
        )
        return web.json_response(answer)

    async def _body(self, request: web.Request) -> bytes | web.Response:
        """The body, or the answer when it is too slow or too large."""
        try:
            async with asyncio.timeout(self.request_timeout):
                return await request.read()
        except TimeoutError:
            log.warning("review_refused", reason="the body was not sent in time")
            return _plain(408, f"the body did not arrive within {self.request_timeout:g}s")
        except web.HTTPRequestEntityTooLarge:
            log.warning("review_refused", reason="the body is too large")
            return _plain(413, f"the body is larger than {MAX_BODY} bytes")


def _answer(raw: bytes, schemas: SchemaSet) -> tuple[dict[str, Any], Decision]:
    """In the worker thread: the body parsed and reviewed, or ``ReviewError`` (HTTP 400)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the C stack
        raise ReviewError("the body is not JSON") from None
    if _deeper_than(_without_objects(body), MAX_DEPTH):
        raise ReviewError(f"the body is nested deeper than {MAX_DEPTH} levels")

    def validate(obj: Any) -> Sequence[Problem]:
        if _deeper_than(obj, MAX_DEPTH):
            return [Problem("(document)", f"nested deeper than {MAX_DEPTH} levels")]
        return validate_configuration(obj, schemas)

    try:
        return review(body, validate)
    except RecursionError:
        raise ReviewError("the object is nested too deep to validate") from None


def _without_objects(body: Any) -> Any:
    """The review without the objects it carries (their depth is a problem of the object)."""
    request = body.get("request") if isinstance(body, dict) else None
    if not isinstance(request, dict):
        return body
    rest = {k: v for k, v in request.items() if k not in ("object", "oldObject")}
    return {**body, "request": rest}


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` containers deep (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _plain(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=_bounded(message, 300) + "\n")


def _bounded(text: str, limit: int = MAX_LOGGED) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else shown(line, limit)


def _paths(problems: Sequence[Problem]) -> list[str]:
    listed = [_bounded(p.path) for p in problems[:20]]
    if len(problems) > 20:
        listed.append(f"... and {len(problems) - 20} more")
    return listed
