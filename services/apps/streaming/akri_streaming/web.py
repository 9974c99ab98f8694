"""The web app: the page, the camera list, one MJPEG stream per tile, and a health check.

``/camera_frame_feed/<key>`` sends each viewer the newest frame, then waits for a newer one: a
viewer that reads slowly skips frames, nothing is queued for it, and one that takes longer than
``write_timeout`` to accept a frame is cut off; at most ``max_viewers`` streams are open at once.
A stream ends when its camera goes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import web

from akri_streaming import mjpeg
from akri_streaming.feeds import Feed, Feeds
from akri_streaming.page import PAGE
from akri_streaming.sources import ANY_CAMERA

log = structlog.get_logger(__name__)

IDLE_CHECK = 5.0  # how often a stream without new frames checks that its viewer is still there
LIVE_WITHIN = 3.0  # a tile whose last frame is older says so
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
    ),
    "X-Content-Type-Options": "nosniff",
}


def describe(feed: Feed, *, now: float) -> dict[str, Any]:
    """A tile as ``/camera_list`` shows it."""
    source, slot = feed.source, feed.slot
    named = slot.latest.camera if slot.latest else ""
    if source.any_camera:
        camera = f"{ANY_CAMERA}: {named}" if named else source.label
    elif source.named:
        camera = source.label  # the name the camera announced; its stream URL is no name
    else:
        camera = named or source.label
    if slot.latest is not None and now - slot.latest.at <= LIVE_WITHIN:
        status = "live"
    elif slot.error:
        status = f"no signal ({slot.error})"
    else:
        status = "waiting for frames" if slot.latest is None else "stalled"
    return {
        "key": source.key,
        "camera": camera,
        "label": source.label,
        "nodes": list(source.nodes),
        "any_camera": source.any_camera,
        "source": str(source.target),
        "generation": feed.generation,
        "frames": slot.frames,
        "status": status,
        "feed": f"/camera_frame_feed/{source.key}",
    }


class StreamingApp:
    def __init__(self, feeds: Feeds, *, synced: Callable[[], bool] = lambda: True) -> None:
        self._feeds = feeds
        self._synced = synced
        self.viewers = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024)
        app.router.add_get("/", self.index)
        app.router.add_get("/camera_list", self.camera_list)
        app.router.add_get("/camera_frame_feed/{key}", self.frame_feed)
        app.router.add_get("/healthz", self.healthz)
        return app

    async def index(self, _: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html", headers=PAGE_HEADERS)

    async def healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def camera_list(self, _: web.Request) -> web.Response:
        now = time.monotonic()
        body = {
            "synced": self._synced(),
            "cameras": [describe(feed, now=now) for feed in self._feeds],
            "viewers": self.viewers,
        }
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    async def frame_feed(self, request: web.Request) -> web.StreamResponse:
        feed = self._feeds.get(request.match_info["key"])
        if feed is None:
            raise web.HTTPNotFound(text="no such camera\n")
        limits = self._feeds.limits
        if self.viewers >= limits.max_viewers:
            raise web.HTTPServiceUnavailable(text="too many viewers\n")
        self.viewers += 1
        try:
            response = web.StreamResponse(
                headers={"Content-Type": mjpeg.CONTENT_TYPE, "Cache-Control": "no-store"}
            )
            await response.prepare(request)
            seq = 0
            while not feed.slot.closed:
                frame = await feed.slot.next_after(seq, timeout=IDLE_CHECK)
                if frame is None:
                    if request.transport is None or request.transport.is_closing():
                        break
                    continue
                seq = frame.seq
                try:
                    async with asyncio.timeout(limits.write_timeout):
                        await response.write(mjpeg.part(frame.jpeg))
                except (TimeoutError, ConnectionError):
                    log.info("viewer_dropped", key=feed.source.key)
                    if request.transport is not None:
                        request.transport.abort()  # a stalled viewer's buffer is let go at once
                    break
            return response
        finally:
            self.viewers -= 1
