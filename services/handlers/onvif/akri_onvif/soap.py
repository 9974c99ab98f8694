"""SOAP envelopes for the few ONVIF calls Akri makes, and their replies, on the standard library.

Pure functions over bytes (no I/O). A request is a fixed SOAP 1.2 envelope around a small body,
with a WS-Security ``UsernameToken`` (``PasswordDigest``: Base64(SHA-1(nonce + created +
password))) in its header when a credential is given. A reply is parsed with expat into an
``ElementTree``, strictly bounded: any document type declaration (and so any entity) is refused,
as are documents nested deeper than ``MAX_DEPTH`` or holding more than ``MAX_ELEMENTS`` elements;
the HTTP layer already caps its size. SOAP 1.1 and 1.2 envelopes are both read, and elements are
found by local name (cameras in the field disagree about prefixes and schema versions).

A SOAP fault becomes a ``Fault`` (its code, subcodes and reason, cut to a few hundred characters);
anything that is not a SOAP envelope is ``MalformedReplyError``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET
from xml.parsers import expat

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
BASE64_BINARY = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
#: Bounds on what one reply may ask of the parser (an ONVIF reply has tens of elements).
MAX_DEPTH = 32
MAX_ELEMENTS = 4096
MAX_SUBCODES = 8
#: Bound on any one text value taken from a reply.
MAX_VALUE = 1024
_FAULT_TEXT_LIMIT = 120


def escape(text: str) -> str:
    """``text`` as XML character data or an attribute value (``xml.sax.saxutils`` would import
    ``urllib.request``, ``http.client`` and ``email``: 1.4 MiB for three replacements)."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


class MalformedReplyError(ValueError):
    """The reply is not a SOAP envelope this client reads (not XML, a DTD, too deep, no Body)."""


class Fault(Exception):  # noqa: N818 - SOAP's own name
    """A SOAP fault: ``code`` (``Sender``, ``s:Client``, ...), the local names of its subcodes
    (``NotAuthorized``, ``ActionNotSupported``, ...), and its reason text, all bounded."""

    def __init__(self, code: str, subcodes: tuple[str, ...], reason: str) -> None:
        self.code = code
        self.subcodes = subcodes
        self.reason = reason
        super().__init__(" ".join(p for p in (code, "/".join(subcodes), reason) if p))


@dataclass(frozen=True)
class Token:
    """A WS-Security UsernameToken's inputs: who, and when on the camera's clock."""

    username: str
    password: str
    created: datetime


def username_token(token: Token, nonce: bytes | None = None) -> str:
    """The ``wsse:Security`` header element for ``token`` (``PasswordDigest``), as XML text."""
    nonce = secrets.token_bytes(16) if nonce is None else nonce
    created = token.created.strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hashlib.sha1(nonce + created.encode() + token.password.encode()).digest()  # noqa: S324 - WS-Security's PasswordDigest is SHA-1 by definition
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
        f"<wsse:Username>{escape(token.username)}</wsse:Username>"
        f'<wsse:Password Type="{DIGEST_TYPE}">{base64.b64encode(digest).decode()}'
        "</wsse:Password>"
        f'<wsse:Nonce EncodingType="{BASE64_BINARY}">{base64.b64encode(nonce).decode()}'
        f"</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


def envelope(body: str, namespaces: dict[str, str], token: Token | None = None) -> bytes:
    """A SOAP 1.2 envelope around ``body`` (XML text whose prefixes ``namespaces`` declares),
    signed with a UsernameToken when ``token`` is given."""
    declared = "".join(f' xmlns:{prefix}="{uri}"' for prefix, uri in namespaces.items())
    header = "" if token is None else username_token(token)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP12}"{declared}><s:Header>{header}</s:Header>'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def content_type(action: str) -> dict[str, str]:
    """The HTTP headers of a SOAP 1.2 request for ``action``."""
    return {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}


def parse_xml(content: bytes) -> ET.Element:
    """``content`` as an element tree, refusing DTDs and over-deep or over-large documents."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    depth = 0
    elements = 0

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal depth, elements
        depth += 1
        elements += 1
        if depth > MAX_DEPTH:
            raise MalformedReplyError(f"nested deeper than {MAX_DEPTH} elements")
        if elements > MAX_ELEMENTS:
            raise MalformedReplyError(f"more than {MAX_ELEMENTS} elements")
        builder.start(_qualified(tag), {_qualified(k): v for k, v in attributes.items()})

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(_qualified(tag))

    def doctype(*_: object) -> None:
        raise MalformedReplyError("a DTD in the reply")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.ExternalEntityRefHandler = doctype  # type: ignore[assignment]
    try:
        parser.Parse(content, True)
        root = builder.close()
    except expat.ExpatError as err:
        raise MalformedReplyError(f"not XML ({expat.ErrorString(err.code)})") from None
    except (UnicodeError, ValueError) as err:
        if isinstance(err, MalformedReplyError):
            raise
        raise MalformedReplyError("not XML") from None
    return root


def _qualified(name: str) -> str:
    """expat's ``uri}local`` as ElementTree's ``{uri}local``."""
    return f"{{{name}" if "}" in name else name


def local(tag: str) -> str:
    """The local name of an ElementTree tag."""
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element | None, name: str) -> Iterator[ET.Element]:
    """The children of ``element`` with local name ``name``."""
    if element is not None:
        yield from (child for child in element if local(child.tag) == name)


def find(element: ET.Element | None, *path: str) -> ET.Element | None:
    """The first element down ``path`` of local names, or None."""
    current = element
    for name in path:
        current = next(children(current, name), None)
    return current


def text(element: ET.Element | None) -> str | None:
    """An element's text with whitespace collapsed and cut to ``MAX_VALUE``, or None if empty."""
    if element is None or element.text is None:
        return None
    value = " ".join(element.text[: MAX_VALUE * 4].split())[:MAX_VALUE]
    return value or None


def body(content: bytes) -> ET.Element | None:
    """The first element of a reply's SOAP Body (None for an empty Body); ``Fault`` for a SOAP
    fault, ``MalformedReplyError`` for anything that is not a SOAP 1.1 or 1.2 envelope."""
    root = parse_xml(content)
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if local(root.tag) != "Envelope" or namespace not in (SOAP11, SOAP12):
        raise MalformedReplyError("not a SOAP envelope")
    found = root.find(f"{{{namespace}}}Body")
    if found is None:
        raise MalformedReplyError("no SOAP Body")
    first = next(iter(found), None)
    if first is not None and first.tag == f"{{{namespace}}}Fault":
        raise fault(first, soap11=namespace == SOAP11)
    return first


def fault(element: ET.Element, *, soap11: bool) -> Fault:
    """The ``Fault`` a SOAP fault element describes."""
    if soap11:
        code = _bounded(element.findtext("faultcode") or "")
        reason = element.findtext("faultstring") or ""
        return Fault(code=code, subcodes=(_name(code),) if code else (), reason=_bounded(reason))
    code_element = find(element, "Code")
    code = text(find(code_element, "Value")) or ""
    subcodes: list[str] = []
    subcode = find(code_element, "Subcode")
    while subcode is not None and len(subcodes) < MAX_SUBCODES:
        value = text(find(subcode, "Value"))
        if value:
            subcodes.append(_name(value))
        subcode = find(subcode, "Subcode")
    reason = " ".join(t.text or "" for t in children(find(element, "Reason"), "Text"))
    return Fault(code=_bounded(code), subcodes=tuple(subcodes), reason=_bounded(reason))


def _name(qualified: str) -> str:
    """``ter:NotAuthorized`` -> ``NotAuthorized``."""
    return _bounded(qualified.rsplit(":", 1)[-1])


def _bounded(value: str) -> str:
    return " ".join(value[: _FAULT_TEXT_LIMIT * 4].split())[:_FAULT_TEXT_LIMIT]
