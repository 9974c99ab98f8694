"""The HTTP side: reads the camera's MJPEG stream (or polls its snapshots) and keeps the newest frame.

``FrameReader.run`` loops forever: connect, read frames into ``latest`` (only the newest is kept),
and when the camera goes away (a connection error, a bad status, ``read_timeout`` seconds without
data, the stream ending, a broken part) it forgets the frame, records why, and reconnects after a
capped back-off (``akri_common.backoff``). A stream answered with something other than
``multipart/x-mixed-replace`` makes it poll the snapshot URI instead, when there is one. With a
credential, the first 401 says which scheme the camera wants: Digest (aiohttp's
``DigestAuthMiddleware``) or Basic. Bodies are read in chunks and never beyond ``max_frame_bytes``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
import structlog

from akri_brokers.onvif_video.mjpeg import JPEG_START, MjpegError, MjpegParser, boundary_of
from akri_brokers.onvif_video.settings import VideoSettings
from akri_brokers.onvif_video.source import Source
from akri_common.backoff import Backoff

log = structlog.get_logger(__name__)

MAX_REASON = 200


class CameraError(Exception):
    """The camera answered, but not with frames (a status, a type, a size)."""


@dataclass(frozen=True)
class Frame:
    jpeg: bytes
    number: int  # counts frames since the broker started
    received: float  # time.monotonic()


class FrameReader:
    def __init__(self, settings: VideoSettings, source: Source) -> None:
        self.settings = settings
        self.source = source
        self.latest: Frame | None = None
        self.problem: str | None = None  # why there is no frame, once a read failed
        self.frames = 0
        self._auth: str | None = None  # None until a 401: "digest" or "basic"
        self._digest: aiohttp.DigestAuthMiddleware | None = None
        self._stream_usable = source.stream is not None

    def fresh(self) -> Frame | None:
        """The newest frame unless it is older than ``max_frame_age``."""
        frame = self.latest
        if frame is None or time.monotonic() - frame.received > self.settings.max_frame_age:
            return None
        return frame

    def _keep(self, jpeg: bytes) -> None:
        self.frames += 1
        self.latest = Frame(jpeg=jpeg, number=self.frames, received=time.monotonic())
        self.problem = None

    async def run(self) -> None:
        backoff = Backoff(initial=self.settings.backoff_initial, cap=self.settings.backoff_cap)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=self.settings.connect_timeout,
            sock_connect=self.settings.connect_timeout,
            sock_read=self.settings.read_timeout,
        )
        async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
            while True:
                await asyncio.sleep(backoff.next_delay())
                before = self.frames
                try:
                    if self._stream_usable:
                        await self._read_stream(session)
                        reason = "the stream ended"
                    else:
                        await self._poll_snapshots(session)
                        reason = "polling stopped"
                except (aiohttp.ClientError, TimeoutError, OSError) as err:
                    reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
                except (CameraError, MjpegError) as err:
                    reason = str(err)
                if self.frames > before:
                    backoff.reset()
                    backoff.next_delay()  # the first attempt after a good run goes at once
                self.latest = None
                self.problem = reason[:MAX_REASON]
                log.warning(
                    "camera_unreachable",
                    camera=self.source.identifier,
                    reason=self.problem,
                    frames=self.frames,
                )

    def _auth_options(self) -> dict[str, object]:
        user, password = self.source.username, self.source.password or ""
        if user is None or self._auth is None:
            return {}
        if self._auth == "digest":
            if self._digest is None:  # one, so that its nonce is reused
                self._digest = aiohttp.DigestAuthMiddleware(user, password)
            return {"middlewares": (self._digest,)}
        return {"auth": aiohttp.BasicAuth(user, password)}

    async def _get(self, session: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
        """GET ``url``; on a first 401 with a credential, learns the scheme and asks again."""
        response = await session.get(url, allow_redirects=False, **self._auth_options())  # type: ignore[arg-type]
        if response.status == 401 and self.source.username is not None and self._auth is None:
            offered = " ".join(response.headers.getall("WWW-Authenticate", []))[:1024].lower()
            response.release()
            self._auth = "digest" if "digest" in offered else "basic"
            log.info("camera_auth", camera=self.source.identifier, scheme=self._auth)
            response = await session.get(url, allow_redirects=False, **self._auth_options())  # type: ignore[arg-type]
        if response.status != 200:
            response.release()
            hint = " (set ONVIF_USERNAME and ONVIF_PASSWORD)" if response.status == 401 else ""
            raise CameraError(f"HTTP {response.status} from the camera{hint}")
        return response

    async def _read_stream(self, session: aiohttp.ClientSession) -> None:
        assert self.source.stream is not None
        async with await self._get(session, self.source.stream) as response:
            content_type = response.headers.get("Content-Type", "")
            try:
                boundary = boundary_of(content_type)
            except MjpegError as err:
                if self.source.snapshot is None:
                    raise
                self._stream_usable = False
                raise CameraError(f"{err}; polling snapshots instead") from None
            parser = MjpegParser(
                boundary,
                max_frame=self.settings.max_frame_bytes,
                max_header=self.settings.max_header_bytes,
            )
            log.info("camera_streaming", camera=self.source.identifier)
            async for chunk in response.content.iter_any():
                frames = parser.feed(chunk)
                if frames:
                    self._keep(frames[-1])  # only the newest counts
                if parser.ended:
                    return

    async def _poll_snapshots(self, session: aiohttp.ClientSession) -> None:
        url = self.source.snapshot
        if url is None:
            raise CameraError("no snapshot URI to fall back to")
        log.info("camera_polling", camera=url, interval=self.settings.snapshot_interval)
        while True:
            started = time.monotonic()
            async with await self._get(session, url) as response:
                self._keep(await self._read_jpeg(response))
            pause = self.settings.snapshot_interval - (time.monotonic() - started)
            await asyncio.sleep(max(0.0, pause))

    async def _read_jpeg(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self.settings.max_frame_bytes
        if response.content_length is not None and response.content_length > limit:
            raise CameraError(f"a snapshot of {response.content_length} bytes (at most {limit})")
        body = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > limit:
                raise CameraError(f"a snapshot larger than {limit} bytes")
        if not body.startswith(JPEG_START):
            raise CameraError("the snapshot is not a JPEG")
        return bytes(body)
