"""The app's process: the web server, the feeds, and in watch mode the cluster view.

The web server starts first (``/healthz`` answers at once). Stopping ends every feed (so every
viewer's stream ends), then the cluster view, then the server.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiohttp import web

from akri_common.k8s.client import connect
from akri_common.k8s.objects import Objects
from akri_streaming.cluster import ClusterView
from akri_streaming.feeds import Feeds
from akri_streaming.settings import StreamingSettings
from akri_streaming.sources import fixed_sources
from akri_streaming.web import StreamingApp

log = structlog.get_logger(__name__)


async def run_app(settings: StreamingSettings, *, stop: asyncio.Event) -> None:
    """Serves until ``stop`` is set."""
    feeds = Feeds(settings.limits, fetch=settings.fetch_frames, override=settings.source_override)
    view: ClusterView | None = None
    async with contextlib.AsyncExitStack() as stack:
        if settings.configuration is not None:
            api = await stack.enter_async_context(await connect(settings.kubeconfig))
            view = ClusterView(
                Objects(api),
                feeds,
                configuration=settings.configuration,
                namespace=settings.configuration_namespace,
            )
        streaming = StreamingApp(feeds, synced=(lambda: view.synced) if view else lambda: True)
        runner = web.AppRunner(streaming.app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        log.info(
            "streaming_serving",
            host=settings.host,
            port=settings.port,
            configuration=settings.configuration,
            namespace=settings.configuration_namespace or "(all)",
        )
        stack.push_async_callback(feeds.close)
        if view is None:
            await feeds.apply(fixed_sources(settings.fixed))
            await stop.wait()
        else:
            watching = asyncio.create_task(view.run(), name="streaming-cluster-view")
            try:
                await stop.wait()
            finally:
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
    log.info("streaming_stopped")
