"""The webhook process: the HTTPS server, the metrics server, and the Kubernetes schemas kept fresh.

The HTTPS server starts first (so ``/healthz`` answers at once); the schemas are then fetched from
the API server, retried with back-off while it cannot be reached, and ``/readyz`` turns ready.
Every ``schema_refresh_seconds`` the OpenAPI discovery document is read again and the schemas are
re-fetched only if the cluster publishes new ones (an upgrade). Stopping closes both servers.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiohttp import web

from akri_common import prometheus
from akri_common.k8s.client import connect
from akri_common.k8s.errors import ApiError
from akri_common.k8s.objects import Objects
from akri_common.metrics import MetricsServer
from akri_webhook import source
from akri_webhook.guard import GuardedSite, runner_options
from akri_webhook.openapi import SchemaError
from akri_webhook.schemas import SchemaSet
from akri_webhook.server import Validator, tls_context
from akri_webhook.settings import WebhookSettings

log = structlog.get_logger(__name__)

RETRY_FIRST = 1.0
RETRY_MAX = 30.0


async def run_webhook(settings: WebhookSettings, *, stop: asyncio.Event) -> None:
    """Serves until ``stop`` is set."""
    context = tls_context(settings.tls_crt_file, settings.tls_key_file)
    validator = Validator(
        request_timeout=settings.request_timeout_seconds,
        validation_timeout=settings.validation_timeout_seconds,
    )
    if settings.schemas_file is not None:
        validator.schemas = SchemaSet.from_json(settings.schemas_file.read_text())
    runner = web.AppRunner(
        validator.app(),
        access_log=None,
        shutdown_timeout=5.0,
        **runner_options(request_timeout=settings.request_timeout_seconds),
    )
    await runner.setup()
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(validator.close)
        stack.push_async_callback(runner.cleanup)
        site = GuardedSite(
            runner,
            settings.host,
            settings.port,
            ssl_context=context,
            max_connections=settings.max_connections,
            request_timeout=settings.request_timeout_seconds,
        )
        await site.start()
        log.info("webhook_serving", port=settings.port, host=settings.host)
        if settings.metrics_port:
            metrics = MetricsServer(
                port=settings.metrics_port,
                exposition=prometheus.exposition(),
                healthy=lambda: validator.schemas is not None,
            )
            await metrics.start()
            stack.push_async_callback(metrics.stop)
        if validator.schemas is not None:
            await stop.wait()
            return
        api = await connect(settings.kubeconfig)
        await stack.enter_async_context(api)
        keeper = asyncio.create_task(
            _keep_schemas(Objects(api), validator, every=settings.schema_refresh_seconds)
        )
        try:
            await stop.wait()
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
    log.info("webhook_stopped")


async def _keep_schemas(objects: Objects, validator: Validator, *, every: float) -> None:
    """Loads the schemas (retrying), then refreshes them when the cluster publishes new ones."""
    delay = RETRY_FIRST
    while validator.schemas is None:
        try:
            validator.schemas = await source.fetch(objects)
        except (ApiError, SchemaError, ValueError) as err:
            log.warning("schemas_unavailable", error=str(err), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
    log.info(
        "schemas_loaded",
        definitions=len(validator.schemas.components),
        **validator.schemas.versions,
    )
    while True:
        await asyncio.sleep(every)
        try:
            if await source.changed(objects, validator.schemas):
                validator.schemas = await source.fetch(objects)
                log.info("schemas_refreshed", **validator.schemas.versions)
        except (ApiError, SchemaError, ValueError) as err:
            log.warning("schemas_refresh_failed", error=str(err))
