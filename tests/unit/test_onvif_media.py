"""``describeMedia``'s pure parts: reading profiles and URIs, and never keeping a credential."""

from __future__ import annotations

import pytest

from akri_onvif.device_service import DescriptionError
from akri_onvif.media import (
    MAX_PROFILES,
    Profile,
    media_properties,
    parse_body,
    parse_profiles,
    parse_uri,
    strip_credentials,
)

S12 = "http://www.w3.org/2003/05/soap-envelope"
NS = (
    f'xmlns:s="{S12}" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" '
    'xmlns:tr2="http://www.onvif.org/ver20/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"'
)


def envelope(body: str) -> bytes:
    return f"<s:Envelope {NS}><s:Body>{body}</s:Body></s:Envelope>".encode()


@pytest.mark.parametrize(
    ("uri", "clean"),
    [
        ("rtsp://admin:secret@10.0.0.5:554/stream/main", "rtsp://10.0.0.5:554/stream/main"),
        ("rtsp://admin@10.0.0.5/s", "rtsp://10.0.0.5/s"),
        (
            "http://10.0.0.5/snap.jpg?user=admin&password=secret&channel=1",
            "http://10.0.0.5/snap.jpg?channel=1",
        ),
        ("http://10.0.0.5/snap.cgi?PWD=x&Usr=y", "http://10.0.0.5/snap.cgi"),
        ("rtsp://u:p@[2001:db8::5]:8554/a", "rtsp://[2001:db8::5]:8554/a"),
        ("rtsp://10.0.0.5:99999/a", ""),
    ],
)
def test_strip_credentials(uri: str, clean: str) -> None:
    assert strip_credentials(uri) == clean


def test_media1_and_media2_profiles() -> None:
    media1 = parse_body(
        envelope(
            "<trt:GetProfilesResponse>"
            "<trt:Profiles token='p1'><tt:Name>Main</tt:Name><tt:VideoEncoderConfiguration>"
            "<tt:Resolution><tt:Width>1920</tt:Width><tt:Height>1080</tt:Height></tt:Resolution>"
            "</tt:VideoEncoderConfiguration></trt:Profiles>"
            "<trt:Profiles token='p2'><tt:Name>Audio only</tt:Name></trt:Profiles>"
            "<trt:Profiles><tt:Name>no token</tt:Name></trt:Profiles>"
            "</trt:GetProfilesResponse>"
        )
    )
    assert parse_profiles(media1) == [
        Profile("p1", "Main", "1920x1080"),
        Profile("p2", "Audio only", None),
    ]
    media2 = parse_body(
        envelope(
            "<tr2:GetProfilesResponse><tr2:Profiles token='m'><tt:Name>M</tt:Name>"
            "<tr2:Configurations><tr2:VideoEncoder><tt:Resolution><tt:Width>640</tt:Width>"
            "<tt:Height>\u0663\u0666\u0660</tt:Height></tt:Resolution></tr2:VideoEncoder>"
            "</tr2:Configurations></tr2:Profiles></tr2:GetProfilesResponse>"
        )
    )
    assert parse_profiles(media2) == [Profile("m", "M", None)]  # non-ASCII digits are no number
    many = "".join(f"<trt:Profiles token='t{i}'/>" for i in range(50))
    parsed = parse_profiles(
        parse_body(envelope(f"<trt:GetProfilesResponse>{many}</trt:GetProfilesResponse>"))
    )
    assert len(parsed) == MAX_PROFILES


def test_uris_of_both_versions() -> None:
    media1 = envelope(
        "<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri> rtsp://10.0.0.5/a </tt:Uri>"
        "</trt:MediaUri></trt:GetStreamUriResponse>"
    )
    media2 = envelope(
        "<tr2:GetSnapshotUriResponse><tr2:Uri>http://10.0.0.5/s.jpg</tr2:Uri></tr2:GetSnapshotUriResponse>"
    )
    assert parse_uri(parse_body(media1)) == "rtsp://10.0.0.5/a"
    assert parse_uri(parse_body(media2)) == "http://10.0.0.5/s.jpg"


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (envelope(""), "malformed"),
        (b"<not-xml", "malformed"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]>' + envelope("&a;"), "malformed"),
        (
            envelope(
                "<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>ter:NotAuthorized"
                "</s:Value></s:Subcode></s:Code></s:Fault>"
            ),
            "not_authorized",
        ),
        (envelope("<s:Fault><s:Reason><s:Text>nope</s:Text></s:Reason></s:Fault>"), "fault"),
    ],
)
def test_bad_replies(content: bytes, kind: str) -> None:
    with pytest.raises(DescriptionError) as caught:
        parse_body(content)
    assert caught.value.kind == kind


def test_media_properties_are_named_by_index_and_keep_no_credential() -> None:
    properties = media_properties(
        "media1",
        [Profile("main", "Main", "1920x1080"), Profile("sub", None, None)],
        ["rtsp://admin:pw@10.0.0.5/main", None],
        ["http://10.0.0.5/main.jpg?password=pw", "http://10.0.0.5/sub.jpg"],
    )
    assert properties == {
        "ONVIF_MEDIA_SERVICE": "media1",
        "ONVIF_PROFILE_COUNT": "2",
        "ONVIF_PROFILE_0_TOKEN": "main",
        "ONVIF_PROFILE_0_NAME": "Main",
        "ONVIF_PROFILE_0_RESOLUTION": "1920x1080",
        "ONVIF_PROFILE_0_STREAM_URI": "rtsp://10.0.0.5/main",
        "ONVIF_PROFILE_0_SNAPSHOT_URI": "http://10.0.0.5/main.jpg",
        "ONVIF_PROFILE_1_TOKEN": "sub",
        "ONVIF_PROFILE_1_SNAPSHOT_URI": "http://10.0.0.5/sub.jpg",
    }
