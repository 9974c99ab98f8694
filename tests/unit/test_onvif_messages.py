"""WS-Discovery messages: the Probe we send and the ProbeMatches, Hello and Bye we read."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from akri_onvif.messages import (
    MAX_ENDPOINTS,
    MAX_XADDRS,
    Bye,
    Endpoint,
    Hello,
    MalformedMessageError,
    ProbeMatches,
    build_probe,
    device_uuid,
    is_video_transmitter,
    parse_message,
)

ENV = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
    'xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
    "<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
)
EPR = "<a:EndpointReference><a:Address>{address}</a:Address></a:EndpointReference>"


def test_probe_asks_for_video_transmitters_with_a_declared_prefix() -> None:
    message_id, datagram = build_probe("uuid:fixed")
    assert message_id == "uuid:fixed"
    root = ET.fromstring(datagram)
    ns = {
        "s": "http://www.w3.org/2003/05/soap-envelope",
        "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
        "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
    }
    assert root.findtext("s:Header/a:MessageID", namespaces=ns) == "uuid:fixed"
    assert root.findtext("s:Header/a:Action", namespaces=ns) == (
        "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
    )
    assert root.findtext("s:Header/a:To", namespaces=ns) == (
        "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
    )
    assert root.findtext("s:Body/d:Probe/d:Types", namespaces=ns) == "dn:NetworkVideoTransmitter"
    assert build_probe()[0] != build_probe()[0]


@pytest.mark.parametrize(
    ("address", "uuid"),
    [
        ("urn:uuid:ABCD-1", "abcd-1"),
        ("uuid:abcd-1", "abcd-1"),
        ("  urn:uuid:abcd-1 ", "abcd-1"),
        ("abcd-1", "abcd-1"),
        ("URN:UUID:ABCD-1", "abcd-1"),
    ],
)
def test_device_uuid(address: str, uuid: str) -> None:
    assert device_uuid(address) == uuid


def test_probe_matches() -> None:
    match = (
        "<d:ProbeMatch>"
        + EPR.format(address="urn:uuid:Cam-1")
        + "<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
        "<d:Scopes> onvif://a  onvif://b </d:Scopes>"
        "<d:XAddrs>http://10.0.0.1/onvif/device_service http://[fe80::1]/onvif/device_service</d:XAddrs>"
        "</d:ProbeMatch>"
    )
    data = ENV.format(
        header="<a:RelatesTo>uuid:probe</a:RelatesTo>",
        body=f"<d:ProbeMatches>{match}<d:ProbeMatch>{EPR.format(address='uuid:cam-2')}</d:ProbeMatch></d:ProbeMatches>",
    ).encode()
    assert parse_message(data) == ProbeMatches(
        relates_to="uuid:probe",
        endpoints=(
            Endpoint(
                uuid="cam-1",
                xaddrs=(
                    "http://10.0.0.1/onvif/device_service",
                    "http://[fe80::1]/onvif/device_service",
                ),
                scopes=("onvif://a", "onvif://b"),
                types=("dn:NetworkVideoTransmitter", "tds:Device"),
            ),
            Endpoint(uuid="cam-2", xaddrs=(), scopes=None, types=None),
        ),
    )


def test_hello_and_bye() -> None:
    hello = ENV.format(
        header="",
        body="<d:Hello>"
        + EPR.format(address="urn:uuid:cam-3")
        + "<d:Types>x:Printer</d:Types><d:Scopes></d:Scopes><d:XAddrs>http://h/</d:XAddrs></d:Hello>",
    ).encode()
    parsed = parse_message(hello)
    assert parsed == Hello(
        Endpoint(uuid="cam-3", xaddrs=("http://h/",), scopes=(), types=("x:Printer",))
    )
    assert isinstance(parsed, Hello)
    assert not is_video_transmitter(parsed.endpoint)
    bye = ENV.format(header="", body="<d:Bye>" + EPR.format(address="urn:uuid:CAM-3") + "</d:Bye>")
    assert parse_message(bye.encode()) == Bye(uuid="cam-3")


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (None, True),
        (("dn:NetworkVideoTransmitter",), True),
        (("NetworkVideoTransmitter",), True),
        ((), False),
    ],
)
def test_is_video_transmitter(types: tuple[str, ...] | None, expected: bool) -> None:
    assert is_video_transmitter(Endpoint(uuid="u", xaddrs=(), types=types)) is expected


def test_other_messages_are_ignored() -> None:
    _, probe = build_probe()
    assert parse_message(probe) is None


@pytest.mark.parametrize(
    "data",
    [
        b"not xml",
        b"<a/>",
        ENV.format(header="", body="").encode(),
        ENV.format(header="", body="<d:Bye></d:Bye>").encode(),
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    ],
)
def test_malformed(data: bytes) -> None:
    with pytest.raises(MalformedMessageError):
        parse_message(data)


# -- cameras as they are in the field ------------------------------------------------------------

SOAP11_ENV = (
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:a="http://www.w3.org/2005/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
    "<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
)


def field_match(address: str, xaddrs: str, types: str | None = None) -> str:
    kinds = "" if types is None else f"<d:Types>{types}</d:Types>"
    return f"<d:ProbeMatch>{EPR.format(address=address)}{kinds}<d:XAddrs>{xaddrs}</d:XAddrs></d:ProbeMatch>"


def test_a_bare_probe_match_several_matches_soap11_and_2005_addressing() -> None:
    body = field_match("uuid:AB-1", "http://10.0.0.1/a") + field_match(
        "urn:uuid:ab-2", "\n  http://10.0.0.2/a \n\t http://[fd00::2]/a   http://cam-2.lan/a \n"
    )
    for envelope in (ENV, SOAP11_ENV):
        data = envelope.format(header="<a:RelatesTo>uuid:p</a:RelatesTo>", body=body).encode()
        assert parse_message(data) == ProbeMatches(
            relates_to="uuid:p",
            endpoints=(
                Endpoint("ab-1", ("http://10.0.0.1/a",), scopes=None, types=None),
                Endpoint(
                    "ab-2",
                    ("http://10.0.0.2/a", "http://[fd00::2]/a", "http://cam-2.lan/a"),
                    scopes=None,
                    types=None,
                ),
            ),
        )


def test_a_datagram_is_bounded_in_endpoints_xaddrs_and_token_size() -> None:
    many = " ".join(f"http://10.0.{i // 250}.{i % 250}/a" for i in range(100))
    body = "".join(field_match(f"uuid:c-{i}", many) for i in range(MAX_ENDPOINTS + 5))
    message = parse_message(
        ENV.format(header="", body=f"<d:ProbeMatches>{body}</d:ProbeMatches>").encode()
    )
    assert isinstance(message, ProbeMatches)
    assert len(message.endpoints) == MAX_ENDPOINTS
    assert all(len(e.xaddrs) == MAX_XADDRS for e in message.endpoints)
    huge = parse_message(
        ENV.format(
            header="", body=field_match("uuid:x", "http://" + "a" * 5000 + "/ http://10.0.0.1/")
        ).encode()
    )
    assert isinstance(huge, ProbeMatches)
    assert huge.endpoints[0].xaddrs == ("http://10.0.0.1/",)


def test_duplicate_xaddrs_are_one() -> None:
    data = ENV.format(
        header="", body=field_match("uuid:d", "http://10.0.0.1/a http://10.0.0.1/a")
    ).encode()
    message = parse_message(data)
    assert isinstance(message, ProbeMatches)
    assert message.endpoints[0].xaddrs == ("http://10.0.0.1/a",)


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><s:Envelope/>',
        b'<!doctype s [<!ENTITY x SYSTEM "http://169.254.169.254/">]><s:Envelope>&x;</s:Envelope>',
        b"x" * (65536 + 1),
    ],
)
def test_entity_tricks_and_oversized_datagrams_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedMessageError):
        parse_message(data)
