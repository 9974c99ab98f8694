"""The ONVIF handler's SOAP layer (pure): envelopes, UsernameTokens, bounded replies, faults."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import pytest

from akri_onvif import soap
from akri_onvif.device_service import DescriptionError, read_reply
from akri_onvif.soap_http import HttpReply

S11 = soap.SOAP11
S12 = soap.SOAP12
TDS = "http://www.onvif.org/ver10/device/wsdl"


def envelope12(body: str) -> bytes:
    return f'<s:Envelope xmlns:s="{S12}" xmlns:tds="{TDS}"><s:Body>{body}</s:Body></s:Envelope>'.encode()


def test_a_username_token_is_a_password_digest_anyone_can_check() -> None:
    token = soap.Token("ad<min>&", "pa ss", datetime(2026, 12, 2, 7, 8, 9, 123456, tzinfo=UTC))
    signed = soap.envelope("<tds:GetNetworkInterfaces/>", {"tds": TDS}, token)
    root = ET.fromstring(signed)
    assert root.tag == f"{{{S12}}}Envelope"
    user = root.find(f"{{{S12}}}Header/{{{soap.WSSE}}}Security/{{{soap.WSSE}}}UsernameToken")
    assert user is not None
    assert user.findtext(f"{{{soap.WSSE}}}Username") == "ad<min>&"
    created = user.findtext(f"{{{soap.WSU}}}Created")
    assert created == "2026-12-02T07:08:09Z"
    nonce = base64.b64decode(user.findtext(f"{{{soap.WSSE}}}Nonce") or "")
    assert len(nonce) == 16
    password = user.find(f"{{{soap.WSSE}}}Password")
    assert password is not None
    assert password.get("Type", "").endswith("#PasswordDigest")
    expected = hashlib.sha1(nonce + created.encode() + b"pa ss").digest()
    assert base64.b64decode(password.text or "") == expected
    assert root.find(f"{{{S12}}}Body/{{{TDS}}}GetNetworkInterfaces") is not None
    # Two tokens never share a nonce.
    again = ET.fromstring(soap.envelope("<tds:GetNetworkInterfaces/>", {"tds": TDS}, token))
    assert again.findtext(f".//{{{soap.WSSE}}}Nonce") != user.findtext(f"{{{soap.WSSE}}}Nonce")


def test_without_a_token_the_header_is_empty() -> None:
    root = ET.fromstring(soap.envelope("<tds:GetServices/>", {"tds": TDS}))
    header = root.find(f"{{{S12}}}Header")
    assert header is not None
    assert len(header) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not xml", "not XML"),
        (b"", "not XML"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "a DTD"),
        (b"<!DOCTYPE x SYSTEM 'file:///etc/passwd'><x/>", "a DTD"),
        ('<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x><x/>'.encode("utf-16"), "a DTD"),
        (b"<x>&undefined;</x>", "not XML"),
        (b"<a>" * 40 + b"</a>" * 40, "nested deeper"),
        (b"<a>" + b"<b/>" * 5000 + b"</a>", "more than 4096 elements"),
    ],
)
def test_hostile_or_broken_documents_are_refused(content: bytes, message: str) -> None:
    with pytest.raises(soap.MalformedReplyError, match=message):
        soap.parse_xml(content)


def test_a_billion_laughs_never_expands() -> None:
    laughs = b'<!DOCTYPE l [<!ENTITY a "ha">' + b"".join(
        b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&" + bytes([97 + i]) + b";") * 10)
        for i in range(9)
    )
    with pytest.raises(soap.MalformedReplyError, match="a DTD"):
        soap.parse_xml(laughs + b"]><x>&j;</x>")


def test_soap_1_1_and_1_2_bodies_are_read_alike() -> None:
    for namespace in (S11, S12):
        content = (
            f'<e:Envelope xmlns:e="{namespace}"><e:Header/><e:Body>'
            f'<GetServicesResponse xmlns="{TDS}"><Service/></GetServicesResponse>'
            "</e:Body></e:Envelope>"
        ).encode()
        answer = soap.body(content)
        assert answer is not None
        assert answer.tag == f"{{{TDS}}}GetServicesResponse"
    assert soap.body(envelope12("")) is None
    with pytest.raises(soap.MalformedReplyError, match="not a SOAP envelope"):
        soap.body(b"<Envelope><Body/></Envelope>")
    with pytest.raises(soap.MalformedReplyError, match="no SOAP Body"):
        soap.body(f'<s:Envelope xmlns:s="{S12}"/>'.encode())


def test_faults_of_both_versions() -> None:
    subcodes = (
        "".join(f"<s:Subcode><s:Value>ter:Code{i}</s:Value>" for i in range(20))
        + "</s:Subcode>" * 20
    )
    fault12 = envelope12(
        "<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>ter:NotAuthorized"
        f"</s:Value>{subcodes}</s:Subcode></s:Code><s:Reason><s:Text xml:lang='en'>Sender "
        f"not\n authorized {'x' * 500}</s:Text></s:Reason></s:Fault>"
    )
    with pytest.raises(soap.Fault) as caught:
        soap.body(fault12)
    assert caught.value.code == "s:Sender"
    assert caught.value.subcodes[:2] == ("NotAuthorized", "Code0")
    assert len(caught.value.subcodes) == soap.MAX_SUBCODES
    assert caught.value.reason.startswith("Sender not authorized x")
    assert len(caught.value.reason) == 120
    fault11 = (
        f'<s:Envelope xmlns:s="{S11}"><s:Body><s:Fault><faultcode>ter:NotAuthorized</faultcode>'
        "<faultstring>no</faultstring></s:Fault></s:Body></s:Envelope>"
    ).encode()
    with pytest.raises(soap.Fault) as caught:
        soap.body(fault11)
    assert (caught.value.subcodes, caught.value.reason) == (("NotAuthorized",), "no")


DATE = "Wed, 02 Dec 2026 07:08:09 GMT"


def reply(status: int, content: bytes, **headers: str) -> HttpReply:
    return HttpReply(status, content, {"Date": DATE, **headers})


def test_a_reply_is_the_answer_to_its_operation() -> None:
    answer = read_reply(
        "GetServices",
        reply(200, envelope12("<tds:GetServicesResponse><tds:Service/></tds:GetServicesResponse>")),
    )
    assert soap.local(answer.tag) == "GetServicesResponse"


@pytest.mark.parametrize(
    ("status", "content", "headers", "kind", "challenge"),
    [
        (200, envelope12("<tds:GetScopesResponse/>"), {}, "malformed", None),
        (200, envelope12(""), {}, "malformed", None),
        (200, b"<html>hello</html>", {}, "malformed", None),
        (401, b"", {"Www-Authenticate": 'Digest realm="x", nonce="y"'}, "not_authorized", "digest"),
        (401, b"", {}, "not_authorized", None),
        (401, b"denied", {}, "not_authorized", None),
        (
            400,
            envelope12(
                "<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>"
                "ter:NotAuthorized</s:Value></s:Subcode></s:Code></s:Fault>"
            ),
            {},
            "not_authorized",
            "soap",
        ),
        (
            500,
            envelope12(
                "<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>"
                "ter:ActionNotSupported</s:Value></s:Subcode></s:Code></s:Fault>"
            ),
            {},
            "not_supported",
            None,
        ),
        (500, envelope12("<tds:GetServicesResponse/>"), {}, "fault", None),
        (404, b"", {}, "fault", None),
        (500, b"<oops", {}, "malformed", None),
    ],
)
def test_what_a_reply_that_is_no_answer_means(
    status: int, content: bytes, headers: dict[str, str], kind: str, challenge: str | None
) -> None:
    with pytest.raises(DescriptionError) as caught:
        read_reply("GetServices", reply(status, content, **headers))
    assert (caught.value.kind, caught.value.challenge) == (kind, challenge)
    # The camera's clock travels with every error: a later UsernameToken is stamped on it.
    assert caught.value.camera_time == datetime(2026, 12, 2, 7, 8, 9, tzinfo=UTC)
