"""HTTP Digest (pure): RFC 7616's test vectors, challenge parsing (good, odd and hostile), and
the per-origin state: first answer, preemptive nonce counts, new nonces, other origins."""

from __future__ import annotations

import hashlib
import re

import pytest

from akri_onvif.digest import (
    MAX_CHALLENGE_CHARS,
    MAX_CHALLENGES,
    MAX_PARAMS,
    Challenge,
    DigestAuth,
    accepted,
    parse_challenges,
    response_fields,
)

# RFC 7616 §3.9.1
USERNAME = "Mufasa"
PASSWORD = "Circle of Life"
REALM = "http-auth@example.org"
NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
ORIGIN = ("http", "10.0.0.5", 80)


def rfc_challenge(algorithm: str) -> str:
    return (
        f'Digest realm="{REALM}", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{NONCE}", opaque="{OPAQUE}"'
    )


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_vectors(algorithm: str, expected: str) -> None:
    (challenge,) = parse_challenges([rfc_challenge(algorithm)])
    usable = accepted(challenge)
    assert usable is not None
    assert (usable.qop, usable.opaque, usable.session) == ("auth", OPAQUE, False)
    fields = response_fields(
        usable,
        username=USERNAME,
        password=PASSWORD,
        method="GET",
        uri="/dir/index.html",
        body=b"",
        nc=1,
        cnonce=CNONCE,
    )
    assert fields == {"response": expected, "qop": "auth", "nc": "00000001", "cnonce": CNONCE}


def h(algorithm: str, text: str) -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


def test_session_algorithm_keys_the_cnonce_into_ha1() -> None:
    (challenge,) = parse_challenges([rfc_challenge("SHA-256-sess")])
    usable = accepted(challenge)
    assert usable is not None
    assert usable.session
    fields = response_fields(
        usable, username=USERNAME, password=PASSWORD, method="POST", uri="/x", body=b"",
        nc=3, cnonce="c",
    )  # fmt: skip
    ha1 = h("sha256", f"{h('sha256', f'{USERNAME}:{REALM}:{PASSWORD}')}:{NONCE}:c")
    expected = h("sha256", f"{ha1}:{NONCE}:00000003:c:auth:{h('sha256', 'POST:/x')}")
    assert fields["response"] == expected


def test_rfc2069_without_qop_and_auth_int_hashes_the_body() -> None:
    (plain,) = parse_challenges(['Digest realm="r", nonce="n"'])
    usable = accepted(plain)
    assert usable is not None
    assert usable.qop is None
    fields = response_fields(
        usable, username="u", password="p", method="POST", uri="/", body=b"", nc=1, cnonce="c"
    )
    assert fields == {"response": h("md5", f"{h('md5', 'u:r:p')}:n:{h('md5', 'POST:/')}")}

    (integrity,) = parse_challenges(['Digest realm="r", nonce="n", qop="auth-int"'])
    usable = accepted(integrity)
    assert usable is not None
    assert usable.qop == "auth-int"
    fields = response_fields(
        usable, username="u", password="p", method="POST", uri="/", body=b"<e/>", nc=1, cnonce="c"
    )
    ha2 = h("md5", f"POST:/:{h('md5', '<e/>')}")
    assert fields["response"] == h("md5", f"{h('md5', 'u:r:p')}:n:00000001:c:auth-int:{ha2}")


@pytest.mark.parametrize(
    "challenge",
    [
        'Digest realm="r", nonce="n", algorithm=SHA-1',  # not offered by RFC 7616
        'Digest realm="r", nonce="n", algorithm=WHIRLPOOL',
        'Digest realm="r", nonce="n", algorithm="\u017fHA-256"',  # long s: upper-cases to ASCII
        'Digest realm="r", nonce="n", qop="auth-conf"',
        'Digest realm="r", nonce="n", algorithm=MD5-sess',  # a session key needs qop's cnonce
        'Digest nonce="n"',  # no realm
        'Digest realm="r", nonce=""',  # an empty nonce
        'Basic realm="r"',
    ],
)
def test_unanswerable_challenges(challenge: str) -> None:
    assert all(accepted(c) is None for c in parse_challenges([challenge]))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            ['Digest realm="a, b", NONCE=x, Qop="auth"'],
            [Challenge("digest", {"realm": "a, b", "nonce": "x", "qop": "auth"})],
        ),
        (  # several challenges in one value, a token68 one first
            ['Negotiate abc==, Digest realm="r\\"q\\\\", nonce=n, Basic realm=y'],
            [
                Challenge("negotiate", {}),
                Challenge("digest", {"realm": 'r"q\\', "nonce": "n"}),
                Challenge("basic", {"realm": "y"}),
            ],
        ),
        (  # several values; empty list elements and odd white space
            [" , Basic realm=y ,", "DIGEST\trealm = r ,, nonce=n , "],
            [Challenge("basic", {"realm": "y"}), Challenge("digest", {"realm": "r", "nonce": "n"})],
        ),
        (["Bearer", "Digest"], [Challenge("bearer", {}), Challenge("digest", {})]),
        (['Digest realm=""'], [Challenge("digest", {"realm": ""})]),
    ],
)
def test_parse_challenges(values: list[str], expected: list[Challenge]) -> None:
    parsed = parse_challenges(values)
    assert [(c.scheme, dict(c.params)) for c in parsed] == [
        (c.scheme, dict(c.params)) for c in expected
    ]


@pytest.mark.parametrize(
    "value",
    [
        'Digest realm="unterminated',
        'Digest realm="trailing backslash\\',
        'Digest realm="a\r\nInjected: yes", nonce=n',
        'Digest realm="a\x00", nonce=n',
        "Digest realm=a nonce=b",  # no comma
        "Digest realm=a, realm=b, nonce=n",  # a repeated parameter
        "Digest realm=, nonce=n",  # an empty token value
        "Digest =x, nonce=n",
        'Digest"realm=a"',
        "Digest " + ", ".join(f"p{i}=v" for i in range(MAX_PARAMS + 1)),
        'Digest realm="' + "a" * MAX_CHALLENGE_CHARS + '", nonce=n',
        "=Digest realm=a",
    ],
)
def test_malformed_or_oversized_values_give_no_usable_challenge(value: str) -> None:
    # at most a bare scheme ("Digest realm=" reads as a token68 challenge), never parameters
    assert [c for c in parse_challenges([value]) if c.params] == []


def test_a_malformed_value_keeps_the_challenges_before_it_and_other_values() -> None:
    parsed = parse_challenges(['Basic realm=y, Digest realm="open', 'Digest realm=r, nonce="n"'])
    assert [c.scheme for c in parsed] == ["basic", "digest"]
    assert dict(parsed[1].params) == {"realm": "r", "nonce": "n"}


def test_challenge_count_is_bounded() -> None:
    many = ", ".join(f"S{i} realm=x" for i in range(MAX_CHALLENGES * 4))
    assert len(parse_challenges([many] * 50)) == MAX_CHALLENGES


def fields_of(header: str) -> dict[str, str]:
    assert header.startswith("Digest ")
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in re.finditer(r'([\w*]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', header[7:])
    }


def test_first_answer_then_preemptive_with_counted_nonces() -> None:
    auth = DigestAuth(USERNAME, PASSWORD)
    assert auth.authorization(ORIGIN, "POST", "/onvif") is None  # not challenged yet
    challenge = rfc_challenge("SHA-256")
    assert auth.challenged(ORIGIN, ['Basic realm="x"', challenge])
    first = auth.authorization(ORIGIN, "POST", "/onvif/device_service")
    second = auth.authorization(ORIGIN, "POST", "/onvif/device_service")
    assert first is not None
    assert second is not None
    one, two = fields_of(first), fields_of(second)
    assert (one["nc"], two["nc"]) == ("00000001", "00000002")
    assert one["cnonce"] != two["cnonce"]
    assert one["opaque"] == OPAQUE
    assert one["algorithm"] == "SHA-256"
    assert one["qop"] == "auth"
    assert (one["username"], one["realm"], one["uri"]) == (USERNAME, REALM, "/onvif/device_service")
    expected = response_fields(
        accepted(parse_challenges([challenge])[0]),  # type: ignore[arg-type]
        username=USERNAME, password=PASSWORD, method="POST", uri="/onvif/device_service",
        body=b"", nc=2, cnonce=two["cnonce"],
    )  # fmt: skip
    assert two["response"] == expected["response"]
    assert PASSWORD not in first
    assert PASSWORD not in repr(auth)


def test_a_new_nonce_restarts_the_count_and_the_same_nonce_keeps_it() -> None:
    auth = DigestAuth("u", "p")
    assert auth.challenged(ORIGIN, ['Digest realm="r", nonce="one", qop=auth'])
    auth.authorization(ORIGIN, "POST", "/")
    assert auth.challenged(ORIGIN, ['Digest realm="r", nonce="one", qop=auth'])
    assert fields_of(auth.authorization(ORIGIN, "POST", "/") or "")["nc"] == "00000002"
    assert auth.challenged(ORIGIN, ['Digest realm="r", nonce="two", qop=auth, stale=true'])
    renewed = fields_of(auth.authorization(ORIGIN, "POST", "/") or "")
    assert (renewed["nonce"], renewed["nc"]) == ("two", "00000001")


def test_credentials_never_go_to_another_origin() -> None:
    auth = DigestAuth("u", "p")
    assert auth.authorization(ORIGIN, "POST", "/") is None  # anchors to ORIGIN
    other = ("http", "10.0.0.5", 8080)
    assert not auth.challenged(other, ['Digest realm="r", nonce="n"'])
    assert auth.authorization(other, "POST", "/") is None
    assert auth.challenged(ORIGIN, ['Digest realm="r", nonce="n", domain="http://10.0.0.6/"'])
    assert auth.authorization(ORIGIN, "POST", "/") is not None
    assert auth.authorization(("http", "10.0.0.6", 80), "POST", "/") is None


def test_unanswerable_challenge_is_not_taken_and_keeps_nothing() -> None:
    auth = DigestAuth("u", "p")
    assert not auth.challenged(ORIGIN, ['Digest realm="r", nonce="n", algorithm=SHA-1'])
    assert not auth.challenged(ORIGIN, ['Basic realm="r"', "Digest"])
    assert auth.authorization(ORIGIN, "POST", "/") is None


def test_the_first_answerable_digest_challenge_is_chosen() -> None:
    auth = DigestAuth("u", "p")
    offered = [
        'Digest realm="r", nonce="a", algorithm=SHA-3',
        'Digest realm="r", nonce="b", algorithm=SHA-256, qop=auth',
        'Digest realm="r", nonce="c", algorithm=MD5, qop=auth',
    ]
    assert auth.challenged(ORIGIN, offered)
    chosen = fields_of(auth.authorization(ORIGIN, "POST", "/") or "")
    assert (chosen["nonce"], chosen["algorithm"]) == ("b", "SHA-256")


def test_usernames_quoted_extended_or_hashed() -> None:
    auth = DigestAuth('a"b\\c', "p")
    auth.challenged(ORIGIN, ['Digest realm="r", nonce="n", qop=auth'])
    assert 'username="a\\"b\\\\c"' in (auth.authorization(ORIGIN, "POST", "/") or "")

    auth = DigestAuth("Jäsøn Doe", "p")
    auth.challenged(ORIGIN, ['Digest realm="r", nonce="n", qop=auth'])
    header = auth.authorization(ORIGIN, "POST", "/") or ""
    assert "username*=UTF-8''J%C3%A4s%C3%B8n%20Doe" in header
    assert header.isascii()

    auth = DigestAuth("u", "p")
    auth.challenged(ORIGIN, ['Digest realm="r", nonce="n", qop=auth, userhash=true'])
    hashed = fields_of(auth.authorization(ORIGIN, "POST", "/") or "")
    assert hashed["username"] == h("md5", "u:r")
    assert hashed["userhash"] == "true"


@pytest.mark.parametrize("username", ["a:b", "a\r\nb", "a\x00"])
def test_usernames_digest_cannot_carry(username: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the type is the contract (as aiohttp's)
        DigestAuth(username, "p")
