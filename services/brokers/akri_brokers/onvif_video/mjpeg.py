"""An incremental parser for MJPEG over HTTP (``multipart/x-mixed-replace``), with limits.

``MjpegParser.feed`` takes the body as it arrives and returns the complete JPEG parts. Each part
is ``--<boundary>``, header lines, an empty line, then either ``Content-Length`` bytes or (without
one) everything up to the next ``\\r\\n--<boundary>``. Limits, each a ``MjpegError``: a part's
headers (and any bytes before the first boundary) at most ``max_header`` bytes, at most
``MAX_HEADER_LINES`` lines; a part at most ``max_frame`` bytes (a larger ``Content-Length`` is
refused before its bytes are read). A part that is not a JPEG (no ``FF D8`` start) is skipped and
counted. ``--<boundary>--`` ends the stream (``ended``). Searches resume where the last one
stopped, so a part arriving in many small chunks costs linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_BOUNDARY = 70  # RFC 2046
MAX_HEADER_LINES = 32
DEFAULT_MAX_FRAME = 4 * 1024 * 1024
DEFAULT_MAX_HEADER = 8 * 1024
JPEG_START = b"\xff\xd8"
_BOUNDARY = re.compile(r"""boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;,"]{1,70}))""", re.IGNORECASE)


class MjpegError(ValueError):
    """The stream breaks the format or a limit (the message never quotes the stream at length)."""


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/x-mixed-replace`` Content-Type; ``MjpegError`` otherwise."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind != "multipart/x-mixed-replace":
        raise MjpegError(f"not an MJPEG stream (Content-Type {kind[:60]!r})")
    found = _BOUNDARY.search(content_type[:512])
    if found is None:
        raise MjpegError("multipart/x-mixed-replace without a boundary")
    boundary = (found.group(1) or found.group(2)).encode("ascii", "replace")
    # Some cameras write the leading dashes into the header's boundary too.
    return boundary[2:] if boundary.startswith(b"--") and len(boundary) > 2 else boundary


@dataclass
class MjpegParser:
    boundary: bytes
    max_frame: int = DEFAULT_MAX_FRAME
    max_header: int = DEFAULT_MAX_HEADER
    skipped: int = 0  # parts that were not JPEG
    ended: bool = False
    _buffer: bytearray = field(default_factory=bytearray, repr=False)
    _state: str = "boundary"  # boundary, headers, body
    _length: int | None = None
    _scanned: int = 0

    def __post_init__(self) -> None:
        if not 0 < len(self.boundary) <= MAX_BOUNDARY:
            raise MjpegError("the boundary must have 1 to 70 characters")
        self._delimiter = b"--" + self.boundary
        self._next = b"\r\n" + self._delimiter

    def feed(self, data: bytes) -> list[bytes]:
        """The JPEG parts ``data`` completes (maybe none); raises ``MjpegError``."""
        if self.ended:
            return []
        self._buffer += data
        frames: list[bytes] = []
        while not self.ended:
            if self._state == "boundary":
                progressed = self._boundary()
            elif self._state == "headers":
                progressed = self._headers()
            else:
                progressed = self._body(frames)
            if not progressed:
                break
        return frames

    def _find(self, needle: bytes, limit: int, what: str) -> int:
        """Where ``needle`` starts in the buffer (resuming the search), -1 if not yet; an error
        once the buffer holds ``limit`` bytes without it."""
        index = self._buffer.find(needle, max(0, self._scanned - len(needle) + 1))
        if index < 0:
            self._scanned = len(self._buffer)
            if len(self._buffer) > limit:
                raise MjpegError(f"{what} longer than {limit} bytes")
        return index

    def _consume(self, count: int) -> None:
        del self._buffer[:count]
        self._scanned = 0

    def _boundary(self) -> bool:
        index = self._find(self._delimiter, self.max_header, "text before a boundary")
        if index < 0:
            return False
        end = index + len(self._delimiter)
        if len(self._buffer) < end + 2:
            return False
        if self._buffer[end : end + 2] == b"--":
            self.ended = True
            self._consume(len(self._buffer))
            return False
        self._consume(end)
        self._state = "headers"
        return True

    def _headers(self) -> bool:
        index = self._find(b"\r\n\r\n", self.max_header, "part headers")
        if index < 0:
            return False
        block = bytes(self._buffer[:index])
        self._consume(index + 4)
        self._length = self._content_length(block)
        self._state = "body"
        return True

    def _content_length(self, block: bytes) -> int | None:
        lines = block.split(b"\r\n")
        if len(lines) > MAX_HEADER_LINES + 1:  # the first is the rest of the boundary line
            raise MjpegError(f"more than {MAX_HEADER_LINES} part header lines")
        length: int | None = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() != b"content-length":
                continue
            text = value.strip()
            if not text.isdigit() or len(text) > 12:
                raise MjpegError("a part's Content-Length is not a number")
            length = int(text)
            if length > self.max_frame:
                raise MjpegError(f"a part of {length} bytes (at most {self.max_frame})")
        return length

    def _body(self, frames: list[bytes]) -> bool:
        if self._length is not None:
            if len(self._buffer) < self._length:
                return False
            part = bytes(self._buffer[: self._length])
            self._consume(self._length)
        else:
            index = self._find(self._next, self.max_frame + len(self._next), "a part")
            if index < 0:
                return False
            part = bytes(self._buffer[:index])
            self._consume(index + 2)  # keeps --boundary for the next part
        self._state = "boundary"
        if part.startswith(JPEG_START):
            frames.append(part)
        else:
            self.skipped += 1
        return True
