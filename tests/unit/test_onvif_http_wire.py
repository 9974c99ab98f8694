"""HTTP/1.1 on the wire (pure): the request head, and the reply parser fed good and malformed
replies, whole and one byte at a time."""

from __future__ import annotations

import pytest

from akri_onvif.http_wire import (
    MAX_FIELD_BYTES,
    MAX_HEADERS,
    MAX_INTERIM,
    MAX_LINE_BYTES,
    MalformedReplyError,
    ReplyParser,
    Target,
    WireReply,
    request_head,
    request_target,
)

LIMIT = 1 << 20


def parse(
    data: bytes, *, eof: bool = True, split: bool = False, max_body: int = LIMIT
) -> WireReply:
    parser = ReplyParser(max_body=max_body)
    pieces = [data[i : i + 1] for i in range(len(data))] if split else [data]
    for piece in pieces:
        parser.feed(piece)
    if eof and not parser.done:
        parser.feed_eof()
    return parser.reply


def feed_all(parser: ReplyParser, pieces: list[bytes]) -> None:
    for piece in pieces:
        parser.feed(piece)


GOOD = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, b"hello"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more", 200, b"hello"),
    (b"HTTP/1.0 500 Internal Server Error\r\n\r\nto the end", 500, b"to the end"),
    (b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", 204, b""),
    (b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, b""),  # no reason phrase
    (b"HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok", 200, b"ok"),
    (b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 200, b"ok"),  # bare LF line ends
    (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"
        b"5;name=value\r\nhello\r\nA \r\n, world!!!\r\n0\r\nTrailer: x\r\n\r\n",
        200,
        b"hello, world!!!",
    ),
    (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\n"
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 1, 1\r\ncontent-length: 1\r\n\r\nx",
        401,
        b"x",
    ),
]


@pytest.mark.parametrize(("data", "status", "body"), GOOD)
@pytest.mark.parametrize("split", [False, True])
def test_good_replies(data: bytes, status: int, body: bytes, split: bool) -> None:
    reply = parse(data, split=split)
    assert (reply.status, reply.body) == (status, body)


def test_header_fields_keep_order_case_and_trimmed_latin1_values() -> None:
    reply = parse(
        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate:  Basic realm=x \t\r\n"
        b"www-authenticate: Digest realm=y\r\nX-Name: caf\xe9\r\nEmpty:\r\n\r\n"
    )
    assert reply.fields == (
        ("WWW-Authenticate", "Basic realm=x"),
        ("www-authenticate", "Digest realm=y"),
        ("X-Name", "café"),
        ("Empty", ""),
    )
    assert list(reply.values("Www-Authenticate")) == ["Basic realm=x", "Digest realm=y"]


def test_a_complete_reply_needs_no_eof_and_ignores_what_follows() -> None:
    parser = ReplyParser(max_body=LIMIT)
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert parser.done
    parser.feed(b"HTTP/1.1 500 Oops\r\n\r\n")
    assert parser.reply.body == b"ok"


BAD = [
    (b"", "closed before"),
    (b"\r\n", "status line"),
    (b"HTTP/1.1 \xd9\xa2\xd9\xa0\xd9\xa0 OK\r\n\r\n", "status line"),  # Arabic-Indic 200
    (b"HTTP/1.1 \xef\xbc\x92\xef\xbc\x90\xef\xbc\x90 OK\r\n\r\n", "status line"),  # full-width
    (b"HTTP/1.1 2000 OK\r\n\r\n", "status line"),
    (b"HTTP/1.1 20 OK\r\n\r\n", "status line"),
    (b"HTTP/1.1 099 Low\r\n\r\n", "below 100"),
    (b"HTTP/2 200 OK\r\n\r\n", "status line"),
    (b"ICY 200 OK\r\n\r\n", "status line"),
    (b"<html>not http</html>", "closed before"),
    (b"HTTP/1.1 200 OK\x00\r\n\r\n", "status line"),
    (b"HTTP/1.1 200 OK\rX: y\r\n\r\n", "bare CR"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: \xd9\xa2\r\n\r\nab", "ASCII digits"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nab", "ASCII digits"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2 2\r\n\r\nab", "ASCII digits"),
    (b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "ASCII digits"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "ASCII digits"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\nab", "more than"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", "conflicting"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nabc", "conflicting"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", "closed before"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "Transfer-Encoding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\xd9\xa2\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n", "more than"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "longer than"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", "closed before"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", "trailer"),
    (b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", "obs-fold"),
    (b"HTTP/1.1 200 OK\r\n\tX: a\r\n\r\n", "obs-fold"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header line"),
    (b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n", "header line"),
    (b"HTTP/1.1 200 OK\r\n: a\r\n\r\n", "header line"),
    (b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", "header line"),
    (b"HTTP/1.1 200 OK\r\nX\xff: a\r\n\r\n", "header line"),
    (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101"),
    (b"HTTP/1.1 100 Continue\r\n\r\n" * (MAX_INTERIM + 1), "interim"),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_FIELD_BYTES + b"\r\n\r\n", "longer than"),
    (b"HTTP/1.1 200 " + b"a" * MAX_LINE_BYTES + b"\r\n\r\n", "longer than"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n", "header lines"),
    (b"HTTP/1.1 200 OK\r\n" + (b"X: " + b"y" * 8000 + b"\r\n") * 9 + b"\r\n", "header lines"),
    (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        + b"T: x\r\n" * (MAX_HEADERS + 2),
        "header lines",
    ),
]


@pytest.mark.parametrize(("data", "detail"), BAD)
@pytest.mark.parametrize("split", [False, True])
def test_malformed_replies(data: bytes, detail: str, split: bool) -> None:
    with pytest.raises(MalformedReplyError, match=detail) as caught:
        parse(data, split=split)
    assert len(str(caught.value)) < 120


def test_a_line_without_an_end_fails_at_its_limit_not_later() -> None:
    parser = ReplyParser(max_body=LIMIT)
    parser.feed(b"HTTP/1.1 200 OK\r\nX: ")
    with pytest.raises(MalformedReplyError, match="longer than"):
        feed_all(parser, [b"a"] * MAX_FIELD_BYTES)
    assert parser.received <= MAX_FIELD_BYTES + 30


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\n\r\n",  # to the end of the connection
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
)
def test_the_body_cap_is_applied_while_reading(head: bytes) -> None:
    parser = ReplyParser(max_body=1000)
    parser.feed(head)
    chunked = b"chunked" in head
    piece = b"40\r\n" + b"x" * 64 + b"\r\n" if chunked else b"x" * 64
    with pytest.raises(MalformedReplyError, match="more than 1000"):
        feed_all(parser, [piece] * 100)
    assert parser.received < 100 * 70


def test_body_exactly_at_the_cap_is_accepted() -> None:
    reply = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + b"x" * 10, max_body=10)
    assert reply.body == b"x" * 10
    reply = parse(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 10, max_body=10)
    assert reply.body == b"x" * 10


def test_reply_before_done_is_an_error() -> None:
    parser = ReplyParser(max_body=LIMIT)
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(RuntimeError):
        _ = parser.reply


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://10.0.0.5/onvif/device_service",
            ("10.0.0.5", 80, "10.0.0.5", "/onvif/device_service"),
        ),
        ("http://10.0.0.5:8080", ("10.0.0.5", 8080, "10.0.0.5:8080", "/")),
        ("http://[2001:DB8::5]:80/x?a=b#frag", ("2001:db8::5", 80, "[2001:db8::5]", "/x?a=b")),
        ("http://[fe80::1%25eth0]:81/", ("fe80::1%eth0", 81, "[fe80::1]:81", "/")),
        ("http://Camera.LAN/a b/ü", ("camera.lan", 80, "camera.lan", "/a%20b/%C3%BC")),
        ("http://kämera.lan/", ("kämera.lan", 80, "xn--kmera-gra.lan", "/")),
    ],
)
def test_request_target(url: str, expected: tuple[str, int, str, str]) -> None:
    target = request_target(url)
    assert target is not None
    assert (target.host, target.port, target.host_header, target.path) == expected
    assert target.origin == ("http", expected[0], expected[1])


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/",
        "ftp://10.0.0.5/",
        "http://10.0.0.5:99999/",
        "http:///x",
        "10.0.0.5/x",
        "http://a b/",
        "http://a\x00b/",
        "http://[fe80::1%25\x01]/",
        "http://\ud800/",
        "http://" + "a" * 64 + ".lan/",  # an IDNA label over 63 characters
    ],
)
def test_unusable_urls(url: str) -> None:
    assert request_target(url) is None


def test_request_head() -> None:
    target = Target(host="10.0.0.5", port=8080, host_header="10.0.0.5:8080", path="/onvif")
    head = request_head(
        target,
        {"Content-Type": "application/soap+xml", "Connection": "keep-alive", "host": "evil"},
        content_length=12,
        authorization='Digest username="u"',
    )
    assert head == (
        b"POST /onvif HTTP/1.1\r\nHost: 10.0.0.5:8080\r\nContent-Type: application/soap+xml\r\n"
        b'Authorization: Digest username="u"\r\nContent-Length: 12\r\nConnection: close\r\n\r\n'
    )


@pytest.mark.parametrize(
    "headers",
    [{"X": "a\r\nInjected: 1"}, {"X": "a\nb"}, {"X": "a\x00"}, {"Bad Name": "x"}, {"X\r\n": "x"}],
)
def test_request_head_refuses_what_cannot_be_sent(headers: dict[str, str]) -> None:
    target = Target(host="h", port=80, host_header="h", path="/")
    with pytest.raises(ValueError):  # noqa: PT011
        request_head(target, headers, content_length=0, authorization=None)
