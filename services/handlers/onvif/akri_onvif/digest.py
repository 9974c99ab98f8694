"""HTTP Digest authentication (RFC 7616, and RFC 2617/2069 without ``qop``), pure: no I/O.

``parse_challenges`` reads ``WWW-Authenticate`` values (RFC 9110 §11.6.1: several challenges per
value, ``token68`` or parameters, quoted strings with escapes, case-insensitive names) within
fixed bounds. ``DigestAuth`` holds one credential for one origin, as a browser does: it answers
the first Digest challenge it can (MD5, MD5-sess, SHA-256, SHA-256-sess, SHA-512-256 and its
``-sess`` form; ``qop`` auth or auth-int, or none), then sends ``Authorization`` preemptively to
that origin with the nonce count incremented, and takes a new challenge (``stale=true``, another
nonce) when the server sends one. It is anchored to the first origin it is asked about and never
computes a response for another origin. An unknown algorithm or ``qop`` is not answered.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import quote

#: (scheme, host, port) of a request, as ``soap_http`` sees it.
Origin = tuple[str, str, int]

MAX_CHALLENGE_CHARS = 8190
MAX_CHALLENGES = 16
MAX_PARAMS = 32
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_TOKEN68_CHARS = frozenset("-._~+/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SPACE = " \t"


#: The algorithms answered (each also in its ``-sess`` form), by their hashlib names.
ALGORITHMS: Mapping[str, str] = MappingProxyType(
    {
        name: hashlib_name
        for name, hashlib_name in (
            ("MD5", "md5"),
            ("SHA-256", "sha256"),
            ("SHA-512-256", "sha512_256"),
        )
        if hashlib_name in hashlib.algorithms_available
    }
)


@dataclass(frozen=True)
class Challenge:
    """One challenge: its scheme (lower case) and parameters (names lower case, values unquoted;
    empty for a ``token68`` challenge)."""

    scheme: str
    params: Mapping[str, str]


class _ChallengeSyntaxError(Exception):
    pass


class _Scanner:
    """A cursor over one header value."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_space(self) -> int:
        start = self.pos
        while self.peek() and self.peek() in _SPACE:
            self.pos += 1
        return self.pos - start

    def token(self, chars: frozenset[str] = _TOKEN_CHARS) -> str:
        start = self.pos
        while self.peek() and self.peek() in chars:
            self.pos += 1
        return self.text[start : self.pos]

    def quoted(self) -> str:
        """A quoted string starting at the cursor, unescaped."""
        self.pos += 1  # the opening quote
        out: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise _ChallengeSyntaxError("unterminated quoted string")
            self.pos += 1
            if char == '"':
                return "".join(out)
            if char == "\\":
                char = self.peek()
                if not char:
                    raise _ChallengeSyntaxError("unterminated quoted string")
                self.pos += 1
            if (char < " " and char != "\t") or char == "\x7f":
                raise _ChallengeSyntaxError("control character in a quoted string")
            out.append(char)


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """Every well-formed challenge in these ``WWW-Authenticate`` values, in order (a value that
    is malformed or over the bounds gives the challenges before the fault)."""
    found: list[Challenge] = []
    for value in values:
        if len(value) > MAX_CHALLENGE_CHARS:
            continue
        try:
            _parse_value(_Scanner(value), found)
        except _ChallengeSyntaxError:
            continue
        if len(found) >= MAX_CHALLENGES:
            return found[:MAX_CHALLENGES]
    return found


def _parse_value(scan: _Scanner, found: list[Challenge]) -> None:
    while len(found) < MAX_CHALLENGES:
        _skip_separators(scan)
        if scan.at_end():
            return
        scheme = scan.token()
        if not scheme:
            raise _ChallengeSyntaxError("no auth-scheme")
        found.append(Challenge(scheme.lower(), _parse_params(scan)))


def _parse_params(scan: _Scanner) -> Mapping[str, str]:
    """The parameters after an auth-scheme, up to the next challenge or the end (none for a
    ``token68`` challenge)."""
    if not scan.skip_space():
        if scan.at_end() or scan.peek() == ",":
            return MappingProxyType({})
        raise _ChallengeSyntaxError("no space after the auth-scheme")
    if _token68(scan):
        return MappingProxyType({})
    params: dict[str, str] = {}
    while True:
        before = scan.pos
        name = scan.token()
        scan.skip_space()
        if scan.peek() != "=":
            if params and name:  # the next challenge's auth-scheme
                scan.pos = before
                return MappingProxyType(params)
            raise _ChallengeSyntaxError("expected a parameter")
        scan.pos += 1
        key = name.lower()
        if not key or key in params or len(params) >= MAX_PARAMS:
            raise _ChallengeSyntaxError("no name, a repeated parameter or too many parameters")
        params[key] = _param_value(scan)
        scan.skip_space()
        if scan.at_end():
            return MappingProxyType(params)
        if scan.peek() != ",":
            raise _ChallengeSyntaxError("expected a comma")
        _skip_separators(scan)
        if scan.at_end():
            return MappingProxyType(params)


def _token68(scan: _Scanner) -> bool:
    """Consumes a ``token68`` (and the white space after it) when one is at the cursor."""
    start = scan.pos
    if scan.token(_TOKEN68_CHARS):
        while scan.peek() == "=":
            scan.pos += 1
        scan.skip_space()
        if scan.at_end() or scan.peek() == ",":
            return True
    scan.pos = start
    return False


def _param_value(scan: _Scanner) -> str:
    scan.skip_space()
    if scan.peek() == '"':
        return scan.quoted()
    value = scan.token()
    if not value:
        raise _ChallengeSyntaxError("empty parameter value")
    return value


def _skip_separators(scan: _Scanner) -> None:
    """Skips commas and white space (empty list elements are allowed)."""
    while scan.skip_space() or scan.peek() == ",":
        if scan.peek() == ",":
            scan.pos += 1


@dataclass(frozen=True)
class Answerable:
    """A Digest challenge this client can answer, normalised."""

    realm: str
    nonce: str
    algorithm: str  # as the server spelt it, echoed back
    hash_name: str  # the key into ALGORITHMS
    session: bool
    qop: str | None  # "auth", "auth-int" or None (RFC 2069)
    opaque: str | None
    userhash: bool


def accepted(challenge: Challenge) -> Answerable | None:
    """The Digest challenge in a form ready to answer, or None when it cannot be answered."""
    params = challenge.params
    if challenge.scheme != "digest" or "realm" not in params or not params.get("nonce"):
        return None
    algorithm = params.get("algorithm", "MD5")
    if not algorithm.isascii():
        return None
    base = algorithm.upper()
    session = base.endswith("-SESS")
    if session:
        base = base[: -len("-SESS")]
    if base not in ALGORITHMS:
        return None
    qop: str | None = None
    if "qop" in params:
        offered = {q.strip().lower() for q in params["qop"].split(",")}
        qop = "auth" if "auth" in offered else "auth-int" if "auth-int" in offered else None
        if qop is None:
            return None
    if session and qop is None:  # a session key needs the cnonce that only qop carries
        return None
    return Answerable(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=algorithm,
        hash_name=base,
        session=session,
        qop=qop,
        opaque=params.get("opaque"),
        userhash=params.get("userhash", "").lower() == "true",
    )


def response_fields(
    challenge: Answerable,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    body: bytes,
    nc: int,
    cnonce: str,
) -> dict[str, str]:
    """The ``response`` digest and the fields that travel with it (RFC 7616 §3.4)."""

    def h(data: str | bytes) -> str:
        raw = data.encode() if isinstance(data, str) else data
        return hashlib.new(ALGORITHMS[challenge.hash_name], raw).hexdigest()

    ha1 = h(f"{username}:{challenge.realm}:{password}")
    if challenge.session:
        ha1 = h(f"{ha1}:{challenge.nonce}:{cnonce}")
    a2 = f"{method}:{uri}"
    if challenge.qop == "auth-int":
        a2 = f"{a2}:{h(body)}"
    ha2 = h(a2)
    nc_text = f"{nc:08x}"
    if challenge.qop is None:
        digest = h(f"{ha1}:{challenge.nonce}:{ha2}")
    else:
        digest = h(f"{ha1}:{challenge.nonce}:{nc_text}:{cnonce}:{challenge.qop}:{ha2}")
    fields = {"response": digest}
    if challenge.qop is not None:
        fields.update(qop=challenge.qop, nc=nc_text, cnonce=cnonce)
    if challenge.userhash:
        fields["username"] = h(f"{username}:{challenge.realm}")
    return fields


class DigestAuth:
    """One credential for HTTP Digest, scoped to the first origin it is used for."""

    def __init__(self, username: str, password: str) -> None:
        if ":" in username:
            raise ValueError('a ":" is not allowed in a Digest username (RFC 7616 §3.4.4)')
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in username):
            raise ValueError("a control character is not allowed in a Digest username")
        self._username = username
        self._password = password
        self._origin: Origin | None = None
        self._challenge: Answerable | None = None
        self._nc = 0

    def __repr__(self) -> str:  # never the credential
        return f"DigestAuth(origin={self._origin!r}, challenged={self._challenge is not None})"

    def _anchored(self, origin: Origin) -> bool:
        if self._origin is None:
            self._origin = origin
        return self._origin == origin

    def authorization(self, origin: Origin, method: str, uri: str, body: bytes = b"") -> str | None:
        """The ``Authorization`` value for a request (the next nonce count), or None: no
        challenge answered yet, or another origin than the one this credential is for."""
        if not self._anchored(origin) or self._challenge is None:
            return None
        self._nc += 1
        return self._header(self._challenge, method, uri, body)

    def challenged(self, origin: Origin, www_authenticate: Iterable[str]) -> bool:
        """Takes the first Digest challenge of a 401 that can be answered; True when the request
        should be sent again with credentials (never for another origin)."""
        if not self._anchored(origin):
            return False
        for challenge in parse_challenges(www_authenticate):
            usable = accepted(challenge)
            if usable is not None:
                if self._challenge is None or usable.nonce != self._challenge.nonce:
                    self._nc = 0
                self._challenge = usable
                return True
        return False

    def _header(self, challenge: Answerable, method: str, uri: str, body: bytes) -> str:
        fields = response_fields(
            challenge,
            username=self._username,
            password=self._password,
            method=method,
            uri=uri,
            body=body,
            nc=self._nc,
            cnonce=secrets.token_hex(16),
        )
        parts: list[str] = []
        if challenge.userhash:
            parts.append(f'username="{fields["username"]}"')
        elif self._username.isascii():
            parts.append(f'username="{_escaped(self._username)}"')
        else:  # RFC 7616 §3.4.4: an extended parameter (RFC 8187)
            parts.append(f"username*=UTF-8''{quote(self._username, safe='')}")
        parts += [
            f'realm="{_escaped(challenge.realm)}"',
            f'uri="{_escaped(uri)}"',
            f"algorithm={challenge.algorithm}",
            f'nonce="{_escaped(challenge.nonce)}"',
        ]
        if challenge.qop is not None:
            parts += [f"nc={fields['nc']}", f'cnonce="{fields["cnonce"]}"', f"qop={fields['qop']}"]
        parts.append(f'response="{fields["response"]}"')
        if challenge.opaque is not None:
            parts.append(f'opaque="{_escaped(challenge.opaque)}"')
        if challenge.userhash:
            parts.append("userhash=true")
        return "Digest " + ", ".join(parts)


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
