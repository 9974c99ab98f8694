"""The simulated camera's footage: a moving test pattern with the camera's name and a clock.

Each frame is a 320x240 JPEG: colour bars that shift sideways a few pixels per frame, a moving
grey ramp, and two lines of text, the camera's name and the wall clock in UTC with tenths. The
same text goes into the JPEG's COM (comment) segment, so a test can tell which camera a frame came
from and that frames change without decoding pixels::

    akri-camera name=<name> frame=<n> time=<HH:MM:SS.t>

``frame`` counts from the camera's start at ``fps`` frames per second (wall-clock derived, so a
frame number says when it was taken). Frames are drawn lazily: ``Footage.current()`` draws the
frame of the current tick once and hands the same bytes to every reader until the next tick, so
an idle camera costs nothing and many readers cost one frame per tick. ``comment(jpeg)`` reads the
COM segment back (bounded; used by tests).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from PIL import Image, ImageDraw, ImageFont

WIDTH = 320
HEIGHT = 240
FPS = 10.0
QUALITY = 70
SHIFT = 4  # pixels the bars move per frame
BARS = (
    (235, 235, 235),
    (235, 235, 16),
    (16, 235, 235),
    (16, 235, 16),
    (235, 16, 235),
    (235, 16, 16),
    (16, 16, 235),
)
COMMENT_PREFIX = "akri-camera "
MAX_SCAN = 64 * 1024  # comment() looks no further into a JPEG than this


def _bars() -> Image.Image:
    """Two widths of bars side by side, so any crop of WIDTH starting in the first half is full."""
    strip = Image.new("RGB", (2 * WIDTH, HEIGHT))
    draw = ImageDraw.Draw(strip)
    bar = WIDTH / len(BARS)
    for index in range(2 * len(BARS)):
        colour = BARS[index % len(BARS)]
        draw.rectangle(
            (round(index * bar), 0, round((index + 1) * bar) - 1, HEIGHT * 2 // 3), fill=colour
        )
    ramp = Image.linear_gradient("L").resize((WIDTH, HEIGHT - HEIGHT * 2 // 3)).convert("RGB")
    strip.paste(ramp, (0, HEIGHT * 2 // 3 + 1))
    strip.paste(ramp, (WIDTH, HEIGHT * 2 // 3 + 1))
    return strip


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError):  # a Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


@dataclass
class Footage:
    name: str
    fps: float = FPS
    started: float = field(default_factory=time.time)
    _strip: Image.Image = field(default_factory=_bars, repr=False)
    _font: ImageFont.FreeTypeFont | ImageFont.ImageFont = field(
        default_factory=lambda: _font(20), repr=False
    )
    _cached: tuple[int, bytes] | None = field(default=None, repr=False)

    def number(self, now: float | None = None) -> int:
        """The number of the frame at wall time ``now`` (default: now)."""
        return int(((time.time() if now is None else now) - self.started) * self.fps)

    def current(self) -> tuple[int, bytes]:
        """The current tick's frame number and JPEG (drawn once per tick)."""
        number = self.number()
        if self._cached is None or self._cached[0] != number:
            self._cached = (number, self.draw(number, time.time()))
        return self._cached

    def seconds_to_next(self) -> float:
        """How long until the next tick."""
        elapsed = (time.time() - self.started) * self.fps
        return max(0.001, (int(elapsed) + 1 - elapsed) / self.fps)

    def draw(self, number: int, wall: float) -> bytes:
        offset = (number * SHIFT) % WIDTH
        frame = self._strip.crop((offset, 0, offset + WIDTH, HEIGHT))
        clock = datetime.fromtimestamp(wall, UTC)
        stamp = f"{clock:%H:%M:%S}.{clock.microsecond // 100_000}"
        draw = ImageDraw.Draw(frame)
        draw.rectangle((0, 0, WIDTH, 56), fill=(0, 0, 0))
        draw.text((8, 4), self.name[:28], fill=(255, 255, 255), font=self._font)
        draw.text((8, 30), f"{stamp}  #{number}", fill=(255, 255, 0), font=self._font)
        text = f"{COMMENT_PREFIX}name={self.name} frame={number} time={stamp}"
        out = io.BytesIO()
        frame.save(out, "JPEG", quality=QUALITY, comment=text.encode())
        return out.getvalue()


def comment(jpeg: bytes) -> str | None:
    """The text of a JPEG's first COM segment (None without one), read from the markers before
    the image data; looks at most ``MAX_SCAN`` bytes in."""
    if not jpeg.startswith(b"\xff\xd8"):
        return None
    position = 2
    limit = min(len(jpeg), MAX_SCAN)
    while position + 4 <= limit:
        if jpeg[position] != 0xFF:
            return None
        marker = jpeg[position + 1]
        length = int.from_bytes(jpeg[position + 2 : position + 4], "big")
        if marker == 0xFE:
            return jpeg[position + 4 : position + 2 + length].decode("utf-8", "replace")
        if marker == 0xDA:  # start of scan: no comment before the image data
            return None
        position += 2 + length
    return None


def fields(jpeg: bytes) -> dict[str, str]:
    """The ``key=value`` pairs of an ``akri-camera`` comment ({} when there is none)."""
    text = comment(jpeg)
    if text is None or not text.startswith(COMMENT_PREFIX):
        return {}
    return dict(
        part.split("=", 1) for part in text[len(COMMENT_PREFIX) :].split(" ") if "=" in part
    )
