"""MJPEG over HTTP, as browsers play it in an ``<img>``: ``multipart/x-mixed-replace``, one JPEG a
part, each part replacing the previous one (upstream's app uses the boundary ``frame``)."""

from __future__ import annotations

BOUNDARY = "frame"
CONTENT_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
JPEG_START = b"\xff\xd8"


def part(frame: bytes) -> bytes:
    """One part: the boundary line, its headers, the JPEG, and the line end that closes it."""
    head = (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame)}\r\n\r\n"
    ).encode("ascii")
    return head + frame + b"\r\n"


def looks_like_jpeg(frame: bytes) -> bool:
    """A JPEG starts with its SOI marker (``FF D8``); anything else is not sent to browsers."""
    return frame.startswith(JPEG_START)


def parts(stream: bytes) -> list[bytes]:
    """The JPEGs in a complete MJPEG body (what a browser would show, in order); for tests and
    tools, never fed by a browser."""
    frames: list[bytes] = []
    marker = f"--{BOUNDARY}\r\n".encode("ascii")
    position = 0
    while (start := stream.find(marker, position)) != -1:
        header_end = stream.find(b"\r\n\r\n", start)
        if header_end == -1:
            break
        length = None
        for line in stream[start + len(marker) : header_end].split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
        if length is None:
            break
        body = header_end + 4
        if body + length > len(stream):
            break
        frames.append(stream[body : body + length])
        position = body + length
    return frames
