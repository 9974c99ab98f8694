"""HTTP/1.1 as bytes, pure: the request ``soap_http`` sends and a strict, bounded reply parser.

``request_target`` reads an ``http://`` URL (through ``xaddrs.xaddr_host``) into what a request
needs; ``request_head`` writes the request head, refusing a header name that is not a token or a
value with a control character. ``ReplyParser`` is fed the bytes a peer sends, in pieces of any
size, and holds at most one line or one read beyond what it has parsed. It accepts only
``HTTP/1.x SP 3DIGIT [SP reason]`` status lines and ``name: value`` header lines (ASCII digits
and token names only, no obs-fold, no bare CR), each line within its limit, at most
``MAX_HEADERS`` lines and ``MAX_HEAD_BYTES`` bytes per head; it skips up to ``MAX_INTERIM``
interim (1xx) replies; it frames the body by ``Transfer-Encoding: chunked`` (chunk extensions
ignored, trailers bounded and dropped), else by ``Content-Length`` (ASCII digits, every copy the
same), else by the end of the connection, and stops at ``max_body`` bytes of body. Anything else
raises ``MalformedReplyError`` with a short, bounded detail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum, auto
from urllib.parse import quote, urlsplit

from akri_onvif.xaddrs import xaddr_host

MAX_LINE_BYTES = 8190
MAX_FIELD_BYTES = 8190
MAX_HEADERS = 100
MAX_HEAD_BYTES = 64 * 1024
MAX_INTERIM = 8

_STATUS = re.compile(rb"HTTP/1\.[0-9] ([0-9]{3})(?: [\t\x20-\x7e\x80-\xff]*)?")
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):([\t\x20-\x7e\x80-\xff]*)")
_LENGTH = re.compile(r"[0-9]{1,19}")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VISIBLE = re.compile(rb"[\x21-\x7e\x80-\xff]+")
_VISIBLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
#: Headers this client writes itself; a caller's copy is left out.
_OURS = frozenset({"host", "content-length", "connection", "transfer-encoding", "authorization"})


class MalformedReplyError(Exception):
    """The bytes are not an acceptable HTTP/1.x reply; the message says why, briefly."""


@dataclass(frozen=True)
class Target:
    """Where a request goes: ``host`` to resolve, ``port``, the ``Host`` header, the
    request-target (path and query, percent-encoded) and the origin (scheme, host, port)."""

    host: str
    port: int
    host_header: str
    path: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return ("http", self.host, self.port)


def request_target(url: str) -> Target | None:
    """The ``Target`` of an ``http://`` URL, or None when it is not one this client can use."""
    host = xaddr_host(url)
    if host is None:
        return None
    parts = urlsplit(url)
    port = parts.port or 80
    resolved = host.replace("%25", "%")
    bare = resolved.split("%", 1)[0]  # an IPv6 zone goes to the resolver, not into Host
    try:
        ascii_host = bare.encode("idna").decode("ascii")
        printable = _VISIBLE.fullmatch(ascii_host.encode()) and _VISIBLE.fullmatch(
            resolved.encode()
        )
    except UnicodeError:
        return None
    if not printable:
        return None
    shown = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    path = quote(parts.path or "/", safe=_VISIBLE_ASCII)
    if parts.query:
        path += "?" + quote(parts.query, safe=_VISIBLE_ASCII)
    return Target(
        host=resolved,
        port=port,
        host_header=shown if port == 80 else f"{shown}:{port}",
        path=path,
    )


def request_head(
    target: Target, headers: Mapping[str, str], *, content_length: int, authorization: str | None
) -> bytes:
    """The head of ``POST`` to ``target`` (one request per connection); ``ValueError`` for a
    header that cannot be sent as given."""
    lines = [f"POST {target.path} HTTP/1.1", f"Host: {target.host_header}"]
    given = [(n, v) for n, v in headers.items() if n.lower() not in _OURS]
    if authorization is not None:
        given.append(("Authorization", authorization))
    for name, value in given:
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"header name {name[:40]!r} is not a token")
        if any((c < " " and c != "\t") or c == "\x7f" for c in value):
            raise ValueError(f"header {name} has a control character (CR, LF, ...)")
        lines.append(f"{name}: {value}")
    lines += [f"Content-Length: {content_length}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("utf-8")


@dataclass(frozen=True)
class WireReply:
    """A parsed reply: status, header fields in order (latin-1 text), body."""

    status: int
    fields: tuple[tuple[str, str], ...]
    body: bytes

    def values(self, name: str) -> Iterator[str]:
        """Every value of header ``name`` (any case), in order."""
        wanted = name.lower()
        return (value for key, value in self.fields if key.lower() == wanted)


class _State(Enum):
    STATUS = auto()
    HEADERS = auto()
    LENGTH = auto()
    CHUNK_SIZE = auto()
    CHUNK_DATA = auto()
    CHUNK_END = auto()
    TRAILERS = auto()
    TO_EOF = auto()
    DONE = auto()


class ReplyParser:
    """An incremental parser for one reply to one request; ``feed`` bytes, then ``feed_eof``
    when the peer closes; ``reply`` once ``done``."""

    def __init__(self, *, max_body: int) -> None:
        self.max_body = max_body
        self.received = 0
        self._buffer = bytearray()
        self._state = _State.STATUS
        self._status = 0
        self._fields: list[tuple[str, str]] = []
        self._head_lines = 0
        self._head_bytes = 0
        self._interim = 0
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._remaining = 0  # of a Content-Length body or of the current chunk

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    @property
    def reply(self) -> WireReply:
        if self._state is not _State.DONE:
            raise RuntimeError("the reply is not complete")
        return WireReply(self._status, tuple(self._fields), b"".join(self._body))

    def feed(self, data: bytes) -> None:
        """Parses ``data``; ``MalformedReplyError`` at the first fault."""
        self.received += len(data)
        if self._state is _State.DONE:
            return
        self._buffer += data
        while self._step():
            pass

    def feed_eof(self) -> None:
        """The peer closed: the reply ends here (or was cut short: ``MalformedReplyError``)."""
        if self._state is _State.TO_EOF:
            self._state = _State.DONE
        elif self._state is not _State.DONE:
            raise MalformedReplyError("connection closed before the reply was complete")

    def _step(self) -> bool:
        """One unit of parsing; False when more bytes are needed."""
        state = self._state
        if state is _State.DONE:
            return False
        if state in (_State.LENGTH, _State.CHUNK_DATA, _State.TO_EOF):
            return self._take_body()
        limit = MAX_LINE_BYTES if state in (_State.STATUS, _State.CHUNK_SIZE) else MAX_FIELD_BYTES
        line = self._line(limit)
        if line is None:
            return False
        if state is _State.STATUS:
            self._status_line(line)
        elif state is _State.HEADERS:
            self._header_line(line)
        elif state is _State.CHUNK_SIZE:
            self._chunk_size(line)
        elif state is _State.CHUNK_END:
            if line:
                raise MalformedReplyError("chunk data longer than its size")
            self._state = _State.CHUNK_SIZE
        else:
            self._trailer_line(line)
        return True

    def _line(self, limit: int) -> bytes | None:
        end = self._buffer.find(b"\n", 0, limit + 2)
        if end < 0:
            if len(self._buffer) > limit + 1:
                raise MalformedReplyError(f"line longer than {limit} bytes")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > limit:
            raise MalformedReplyError(f"line longer than {limit} bytes")
        if b"\r" in line:
            raise MalformedReplyError("bare CR in a line")
        return line

    def _count_head_line(self, line: bytes) -> None:
        self._head_lines += 1
        self._head_bytes += len(line) + 2
        if self._head_lines > MAX_HEADERS or self._head_bytes > MAX_HEAD_BYTES:
            raise MalformedReplyError(
                f"more than {MAX_HEADERS} header lines or {MAX_HEAD_BYTES} bytes"
            )

    def _status_line(self, line: bytes) -> None:
        match = _STATUS.fullmatch(line)
        if match is None:
            raise MalformedReplyError("not an HTTP/1.x status line")
        status = int(match.group(1))
        if status < 100:
            raise MalformedReplyError("status code below 100")
        self._status = status
        self._fields = []
        self._head_lines = 0
        self._head_bytes = len(line) + 2
        self._state = _State.HEADERS

    def _header_line(self, line: bytes) -> None:
        if line:
            self._count_head_line(line)
            if line[:1] in (b" ", b"\t"):
                raise MalformedReplyError("obs-fold (a header line starting with white space)")
            match = _HEADER.fullmatch(line)
            if match is None:
                raise MalformedReplyError("malformed header line")
            value = match.group(2).strip(b" \t").decode("latin-1")
            self._fields.append((match.group(1).decode("ascii"), value))
            return
        if 100 <= self._status < 200:
            if self._status == 101:
                raise MalformedReplyError("unexpected 101 Switching Protocols")
            self._interim += 1
            if self._interim > MAX_INTERIM:
                raise MalformedReplyError(f"more than {MAX_INTERIM} interim (1xx) replies")
            self._state = _State.STATUS
            return
        self._frame_body()

    def _trailer_line(self, line: bytes) -> None:
        """Trailers are bounded like a head, checked, and dropped."""
        if not line:
            self._state = _State.DONE
            return
        self._count_head_line(line)
        if line[:1] in (b" ", b"\t") or not _HEADER.fullmatch(line):
            raise MalformedReplyError("malformed trailer line")

    def _frame_body(self) -> None:
        if self._status in (204, 304):
            self._state = _State.DONE
            return
        codings = [
            coding.strip().lower()
            for value in self._values("transfer-encoding")
            for coding in value.split(",")
            if coding.strip()
        ]
        if codings:
            if codings != ["chunked"]:
                raise MalformedReplyError("unsupported Transfer-Encoding")
            self._state = _State.CHUNK_SIZE
            return
        lengths = {
            item.strip() for value in self._values("content-length") for item in value.split(",")
        }
        if not lengths:
            self._state = _State.TO_EOF
            return
        if len(lengths) > 1:
            raise MalformedReplyError("conflicting Content-Length values")
        (text,) = lengths
        if not _LENGTH.fullmatch(text):
            raise MalformedReplyError("Content-Length is not a number in ASCII digits")
        length = int(text)
        if length > self.max_body:
            raise MalformedReplyError(f"reply of {length} bytes (more than {self.max_body})")
        self._remaining = length
        self._state = _State.LENGTH if length else _State.DONE

    def _values(self, name: str) -> list[str]:
        return [value for key, value in self._fields if key.lower() == name]

    def _chunk_size(self, line: bytes) -> None:
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None:
            raise MalformedReplyError("malformed chunk size line")
        size = int(match.group(1), 16)
        if self._body_bytes + size > self.max_body:
            raise MalformedReplyError(f"reply of more than {self.max_body} bytes")
        if size == 0:
            self._head_lines = 0
            self._head_bytes = 0
            self._state = _State.TRAILERS
        else:
            self._remaining = size
            self._state = _State.CHUNK_DATA

    def _take_body(self) -> bool:
        if not self._buffer:
            return False
        if self._state is _State.TO_EOF:
            piece = bytes(self._buffer)
        else:
            piece = bytes(self._buffer[: self._remaining])
            self._remaining -= len(piece)
        del self._buffer[: len(piece)]
        self._body_bytes += len(piece)
        if self._body_bytes > self.max_body:
            raise MalformedReplyError(f"reply of more than {self.max_body} bytes")
        self._body.append(piece)
        if self._state is not _State.TO_EOF and self._remaining == 0:
            self._state = _State.DONE if self._state is _State.LENGTH else _State.CHUNK_END
        return True
