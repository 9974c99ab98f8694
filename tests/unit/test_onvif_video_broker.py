"""The ONVIF video broker's pure parts: the MJPEG parser and its limits, the profile choice."""

from __future__ import annotations

import pytest

from akri_brokers.onvif_video.mjpeg import MjpegError, MjpegParser, boundary_of
from akri_brokers.onvif_video.settings import VideoSettings
from akri_brokers.onvif_video.source import NoSourceError, choose, profiles
from akri_common.settings import SettingsError

JPEG_A = b"\xff\xd8" + b"A" * 300 + b"\xff\xd9"
JPEG_B = b"\xff\xd8" + b"B\r\n--fram" * 40 + b"\xff\xd9"  # looks like a boundary, but is not


def part(jpeg: bytes, *, length: bool = True, boundary: bytes = b"frame") -> bytes:
    size = f"Content-Length: {len(jpeg)}\r\n".encode() if length else b""
    return b"--" + boundary + b"\r\nContent-Type: image/jpeg\r\n" + size + b"\r\n" + jpeg + b"\r\n"


def feed_in_chunks(parser: MjpegParser, data: bytes, size: int) -> list[bytes]:
    frames: list[bytes] = []
    for start in range(0, len(data), size):
        frames += parser.feed(data[start : start + size])
    return frames


@pytest.mark.parametrize("length", [True, False])
@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_parts_come_out_whole_however_the_bytes_arrive(length: bool, chunk: int) -> None:
    stream = (
        b"preamble\r\n"
        + part(JPEG_A, length=length)
        + part(JPEG_B, length=length)
        + part(JPEG_A, length=length)
    )
    parser = MjpegParser(b"frame")
    frames = feed_in_chunks(parser, stream, chunk)
    # Without Content-Length a part ends only when the next boundary shows.
    assert frames == ([JPEG_A, JPEG_B, JPEG_A] if length else [JPEG_A, JPEG_B])
    assert parser.feed(b"--frame--\r\n") == ([] if length else [JPEG_A])
    assert parser.ended
    assert parser.feed(part(JPEG_B)) == []


def test_a_part_that_is_not_a_jpeg_is_skipped_and_counted() -> None:
    parser = MjpegParser(b"frame")
    assert parser.feed(part(b"<html>oops</html>") + part(JPEG_A)) == [JPEG_A]
    assert parser.skipped == 1


def test_a_declared_length_above_the_limit_is_refused_before_its_bytes() -> None:
    parser = MjpegParser(b"frame", max_frame=1024)
    with pytest.raises(MjpegError, match="2000 bytes"):
        parser.feed(b"--frame\r\nContent-Length: 2000\r\n\r\n")


def test_a_part_without_length_is_bounded_too() -> None:
    parser = MjpegParser(b"frame", max_frame=1024)
    parser.feed(b"--frame\r\n\r\n\xff\xd8")
    for _ in range(10):
        parser.feed(b"x" * 100)
    with pytest.raises(MjpegError, match="longer than"):
        parser.feed(b"x" * 100)


def test_endless_headers_and_endless_preamble_are_bounded() -> None:
    with pytest.raises(MjpegError, match="part headers"):
        MjpegParser(b"frame", max_header=512).feed(b"--frame\r\nX-A: " + b"a" * 1000)
    with pytest.raises(MjpegError, match="before a boundary"):
        MjpegParser(b"frame", max_header=512).feed(b"z" * 1000)
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(40))
    with pytest.raises(MjpegError, match="header lines"):
        MjpegParser(b"frame").feed(b"--frame\r\n" + many + b"\r\n")


@pytest.mark.parametrize("value", [b"-5", b"12x", b"9" * 20])
def test_a_bad_content_length_is_an_error(value: bytes) -> None:
    with pytest.raises(MjpegError, match="Content-Length"):
        MjpegParser(b"frame").feed(b"--frame\r\nContent-Length: " + value + b"\r\n\r\n")


@pytest.mark.parametrize(
    ("header", "boundary"),
    [
        ("multipart/x-mixed-replace; boundary=frame", b"frame"),
        ('multipart/x-mixed-replace;boundary="my frame"', b"my frame"),
        ("Multipart/X-Mixed-Replace; charset=x; BOUNDARY=--myboundary", b"myboundary"),
    ],
)
def test_boundary_of_reads_the_content_type(header: str, boundary: bytes) -> None:
    assert boundary_of(header) == boundary


@pytest.mark.parametrize(
    "header", ["image/jpeg", "multipart/x-mixed-replace", "text/html; boundary=frame"]
)
def test_boundary_of_refuses_what_is_not_mjpeg(header: str) -> None:
    with pytest.raises(MjpegError):
        boundary_of(header)


CAMERA = {
    "ONVIF_DEVICE_UUID": "0a3ec5b4-6f4e-4d8a-9c1e-1d2c3b4a5f60",
    "ONVIF_PROFILE_COUNT": "3",
    "ONVIF_PROFILE_0_TOKEN": "main",
    "ONVIF_PROFILE_0_RESOLUTION": "1920x1080",
    "ONVIF_PROFILE_0_STREAM_URI": "rtsp://10.0.0.5:554/stream/main",
    "ONVIF_PROFILE_0_SNAPSHOT_URI": "http://10.0.0.5/snapshot/main.jpg",
    "ONVIF_PROFILE_1_TOKEN": "sub",
    "ONVIF_PROFILE_1_RESOLUTION": "640x360",
    "ONVIF_PROFILE_1_STREAM_URI": "http://10.0.0.5/stream.mjpeg",
    "ONVIF_PROFILE_1_SNAPSHOT_URI": "http://10.0.0.5/snapshot/sub.jpg",
    "ONVIF_PROFILE_2_TOKEN": "tiny",
    "ONVIF_PROFILE_2_RESOLUTION": "160x90",
    "ONVIF_PROFILE_2_STREAM_URI": "rtsp://10.0.0.5:554/stream/tiny",
}


def test_the_smallest_usable_profile_is_chosen_and_its_mjpeg_stream_preferred() -> None:
    source = choose(CAMERA)  # tiny has only RTSP: not usable
    assert source.profile.token == "sub"
    assert source.stream == "http://10.0.0.5/stream.mjpeg"
    assert source.snapshot == "http://10.0.0.5/snapshot/sub.jpg"
    assert source.identifier == "http://10.0.0.5/stream.mjpeg"


def test_a_profile_named_by_token_or_index_wins_and_falls_back_to_snapshots() -> None:
    for wanted in ("main", "0"):
        source = choose(CAMERA, wanted)
        assert (source.profile.token, source.stream) == ("main", None)
        assert source.identifier == "http://10.0.0.5/snapshot/main.jpg"
    with pytest.raises(NoSourceError, match="no profile 'nope'"):
        choose(CAMERA, "nope")
    with pytest.raises(NoSourceError, match="no HTTP stream or snapshot"):
        choose(CAMERA, "tiny")


def test_without_media_properties_there_is_no_source() -> None:
    with pytest.raises(NoSourceError, match="describeMedia"):
        choose({"ONVIF_DEVICE_UUID": "x"})


def test_bare_names_win_else_the_first_hash_suffix() -> None:
    suffixed = {f"{k}_A1B2C3": v for k, v in CAMERA.items()}
    other = {"ONVIF_PROFILE_0_TOKEN_FFFFFF": "x", "ONVIF_PROFILE_0_STREAM_URI_FFFFFF": "http://o/"}
    assert [p.token for p in profiles({**suffixed, **other})] == ["main", "sub", "tiny"]
    assert [
        p.token for p in profiles({**suffixed, **CAMERA, "ONVIF_PROFILE_9_TOKEN_A1B2C3": "z"})
    ] == [
        "main",
        "sub",
        "tiny",
    ]


def test_profiles_without_resolution_come_last_and_credentials_leave_the_url() -> None:
    env = {
        "ONVIF_PROFILE_0_STREAM_URI": "http://admin:s%40cret@10.0.0.5:8080/video.mjpeg",
        "ONVIF_PROFILE_1_SNAPSHOT_URI": "http://10.0.0.5/big.jpg",
        "ONVIF_PROFILE_1_RESOLUTION": "3840x2160",
    }
    source = choose(env)
    assert source.snapshot == "http://10.0.0.5/big.jpg"
    source = choose(env, "0")
    assert source.stream == "http://10.0.0.5:8080/video.mjpeg"
    assert (source.username, source.password) == ("admin", "s@cret")
    # A credential from the environment wins over the URL's.
    assert choose(env, "0", username="u", password="p").username == "u"


def test_settings_never_show_the_password() -> None:
    settings = VideoSettings.from_environment({"ONVIF_USERNAME": "u", "ONVIF_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(settings)
    assert (settings.address, settings.port, settings.max_frame_bytes) == ("0.0.0.0", 8083, 4 << 20)
    with pytest.raises(SettingsError, match="ONVIF_USERNAME") as raised:
        VideoSettings.from_environment({"ONVIF_PASSWORD": "hunter2"})
    assert "hunter2" not in str(raised.value)
    with pytest.raises(SettingsError, match="ONVIF_VIDEO_MAX_FRAME_BYTES"):
        VideoSettings.from_environment({"ONVIF_VIDEO_MAX_FRAME_BYTES": "10"})
