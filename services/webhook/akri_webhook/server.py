"""The HTTPS server: ``POST /validate`` (AdmissionReview), ``GET /healthz`` and ``GET /readyz``.

TLS through the standard ``ssl`` module, TLS 1.2 or newer, certificate and key from the files the
chart mounts. ``/validate`` answers 503 until the Kubernetes schemas are loaded (``/readyz`` says
when), 400 for a body that is not an AdmissionReview request, else 200 with the review. Logs name
the request (uid, operation, namespace, name) and the paths of the problems, never field values.
"""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path

import structlog
from aiohttp import web
from prometheus_client import Counter, Histogram

from akri_webhook.review import ReviewError, review
from akri_webhook.schemas import SchemaSet
from akri_webhook.validation import validate_configuration

log = structlog.get_logger(__name__)

MAX_BODY = 8 * 1024 * 1024  # a review carries the object and the old object, each up to ~3 MiB
REVIEWS = Counter(
    "akri_webhook_reviews",
    "AdmissionReviews answered, by operation and decision",
    ["operation", "allowed"],
)
REVIEW_SECONDS = Histogram("akri_webhook_review_seconds", "Time to validate one Configuration")


def tls_context(crt: Path, key: Path) -> ssl.SSLContext:
    """A server context: TLS 1.2+, the default (secure) cipher choice, this certificate and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=crt, keyfile=key)
    return context


class Validator:
    """Holds the current schema set (None until loaded) and answers the HTTP routes."""

    def __init__(self, schemas: SchemaSet | None = None) -> None:
        self.schemas = schemas

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
        try:
            body = json.loads(await request.read())
            started = time.perf_counter()
            answer, decision = review(body, lambda obj: validate_configuration(obj, schemas))
            REVIEW_SECONDS.observe(time.perf_counter() - started)
        except (ValueError, UnicodeDecodeError) as err:  # ReviewError, or not JSON at all
            reason = str(err) if isinstance(err, ReviewError) else "the body is not JSON"
            log.warning("review_refused", reason=reason)
            return web.Response(status=400, text=f"{reason}\n")
        REVIEWS.labels(
            operation=decision.operation or "-", allowed=str(decision.allowed).lower()
        ).inc()
        log.info(
            "configuration_reviewed",
            uid=decision.uid,
            operation=decision.operation,
            namespace=decision.namespace,
            name=decision.name,
            allowed=decision.allowed,
            problems=[p.path for p in decision.problems],
        )
        return web.json_response(answer)
