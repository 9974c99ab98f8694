"""One feed per tile: a gRPC channel to the camera's broker and a loop calling ``GetFrame``.

The loop asks for a frame about ``frame_rate`` times a second, each call bounded by
``call_timeout`` and each reply by ``max_frame_bytes`` (gRPC refuses a larger message before it
is buffered). A reply that is not a JPEG is dropped. Failures are retried with capped back-off,
the tile showing the error meanwhile. ``Feeds.apply`` makes the running feeds match the wanted
tiles (``sources.plan``); a feed that goes is cancelled, its channel closed and its viewers'
streams ended. This is the only module that speaks gRPC.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import structlog

from akri_common.backoff import delay
from akri_proto.camera import camera_pb2 as pb
from akri_proto.camera import camera_pb2_grpc as pb_grpc
from akri_streaming.frames import FrameSlot
from akri_streaming.mjpeg import looks_like_jpeg
from akri_streaming.settings import Limits
from akri_streaming.sources import Source, Target, clean_label, plan

log = structlog.get_logger(__name__)

GRPC_OVERHEAD = 1024  # room for the message's own fields next to the frame


@dataclass
class Feed:
    source: Source
    generation: int
    slot: FrameSlot = field(default_factory=FrameSlot)
    task: asyncio.Task[None] | None = None


class Feeds:
    """The running feeds, by tile key."""

    def __init__(
        self, limits: Limits, *, fetch: bool = True, override: Target | None = None
    ) -> None:
        self.limits = limits
        self._fetch = fetch
        self._override = override
        self._feeds: dict[str, Feed] = {}
        self._generations = itertools.count(1)

    def __iter__(self) -> Iterator[Feed]:
        return iter(list(self._feeds.values()))

    def get(self, key: str) -> Feed | None:
        return self._feeds.get(key)

    async def apply(self, wanted: list[Source]) -> None:
        running = {key: feed.source for key, feed in self._feeds.items()}
        changes = plan(running, wanted, limit=self.limits.max_cameras)
        for key in changes.stop:
            await self._stop(key)
        for source in changes.update:
            self._feeds[source.key].source = source
        for source in changes.start:
            self._start(source)
        if changes.left_out:
            log.warning(
                "cameras_left_out", left_out=changes.left_out, limit=self.limits.max_cameras
            )

    async def close(self) -> None:
        for key in list(self._feeds):
            await self._stop(key)

    def _start(self, source: Source) -> None:
        feed = Feed(source, next(self._generations))
        if self._fetch:
            target = self._override or source.target
            feed.task = asyncio.create_task(
                fetch_frames(target, feed.slot, self.limits), name=f"feed-{source.key}"
            )
        self._feeds[source.key] = feed
        log.info("camera_added", key=source.key, target=str(source.target), label=source.label)

    async def _stop(self, key: str) -> None:
        feed = self._feeds.pop(key)
        feed.slot.close()
        if feed.task is not None:
            feed.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed.task
        log.info("camera_removed", key=key)


async def fetch_frames(target: Target, slot: FrameSlot, limits: Limits) -> None:
    """Runs until cancelled: ``GetFrame`` about ``frame_rate`` times a second into ``slot``."""
    options = [
        ("grpc.max_receive_message_length", limits.max_frame_bytes + GRPC_OVERHEAD),
        ("grpc.max_send_message_length", 1024),
        ("grpc.enable_retries", 0),
        ("grpc.use_local_subchannel_pool", 1),  # a channel of its own per camera
        # gRPC's own reconnect back-off grows to minutes; a broker that starts after its Service
        # must be dialled again within ``retry_cap``, not after the channel's next long wait.
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.min_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", int(limits.retry_cap * 1000)),
    ]
    interval = 1.0 / limits.frame_rate
    loop = asyncio.get_running_loop()
    failures = 0
    async with grpc.aio.insecure_channel(str(target), options=options) as channel:
        stub = pb_grpc.CameraStub(channel)
        while True:
            started = loop.time()
            try:
                reply = await stub.GetFrame(pb.NotifyRequest(), timeout=limits.call_timeout)
            except grpc.aio.AioRpcError as err:
                failures += 1
                code = err.code().name if err.code() else "UNKNOWN"
                slot.fail(f"{code}: {(err.details() or '')[:120]}")
                if failures == 1 or failures % 50 == 0:
                    log.warning(
                        "get_frame_failed", target=str(target), code=code, failures=failures
                    )
                await asyncio.sleep(delay(failures, initial=interval, cap=limits.retry_cap))
                continue
            failures = 0
            if looks_like_jpeg(reply.frame):
                slot.publish(reply.frame, clean_label(reply.camera))
            else:
                slot.fail("the camera sent a frame that is not a JPEG")
            await asyncio.sleep(max(0.0, interval - (loop.time() - started)))
