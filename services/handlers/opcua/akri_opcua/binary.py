"""The OPC UA binary wire format, as much of it as discovery needs (OPC UA Part 6): no I/O here.

Requests are encoded whole (each fits one chunk): ``hello``, ``open_request`` (OpenSecureChannel,
security policy None), ``find_servers_request``, ``get_endpoints_request`` and ``close_request``.
What comes back is parsed in three steps: ``parse_header`` (the 8 bytes every message starts
with), ``Reassembly.add`` (the chunks of one message into its body, with the channel id, the
token id, the sequence numbers and the request id checked), and a decoder per body
(``decode_acknowledge``, ``decode_error``, ``decode_open_response``, ``decode_find_servers``,
``decode_endpoints``).

Everything a peer sends is bounded: a chunk by ``RECEIVE_BUFFER_SIZE``, a message by
``MAX_MESSAGE_SIZE`` and ``MAX_CHUNK_COUNT``, an array by ``MAX_ARRAY_LENGTH`` and by the bytes
left (no allocation by a count before the bytes are there), a string by the bytes left, a
``DiagnosticInfo`` by ``MAX_DIAGNOSTIC_DEPTH``. Anything malformed is a ``ProtocolError`` with a
short message; a bad ``ServiceResult`` or a ``ServiceFault`` is a ``StatusError`` naming the code.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

HEADER_SIZE = 8
#: What we tell the server in Hello, and the most a chunk it sends may be (header included).
RECEIVE_BUFFER_SIZE = 65536
SEND_BUFFER_SIZE = 65536
#: The most one message may be across its chunks, and the most chunks it may have.
MAX_MESSAGE_SIZE = 1 << 20
MAX_CHUNK_COUNT = 32
#: The most elements an array in a reply may have (more servers than any LDS lists).
MAX_ARRAY_LENGTH = 1000
#: How deep nested ``InnerDiagnosticInfo`` may go.
MAX_DIAGNOSTIC_DEPTH = 16
#: The smallest receive buffer a server may announce (Part 6, 7.1.2.3).
MIN_BUFFER_SIZE = 8192

SECURITY_POLICY_NONE = "http://opcfoundation.org/UA/SecurityPolicy#None"
SECURITY_MODE_NONE = 1
REQUEST_TYPE_ISSUE = 0

# The binary encoding ids (namespace 0) of the messages we send and read.
OPEN_SECURE_CHANNEL_REQUEST = 446
OPEN_SECURE_CHANNEL_RESPONSE = 449
CLOSE_SECURE_CHANNEL_REQUEST = 452
FIND_SERVERS_REQUEST = 422
FIND_SERVERS_RESPONSE = 425
GET_ENDPOINTS_REQUEST = 428
GET_ENDPOINTS_RESPONSE = 431
SERVICE_FAULT = 397

MESSAGE_TYPES = frozenset({b"HEL", b"ACK", b"ERR", b"OPN", b"MSG", b"CLO"})
SECURE_TYPES = frozenset({b"OPN", b"MSG", b"CLO"})
FINAL, INTERMEDIATE, ABORT = b"F", b"C", b"A"

#: Seconds from 1601-01-01 (OPC UA's DateTime epoch) to 1970-01-01.
_EPOCH_OFFSET_SECONDS = 11644473600
_SEQUENCE_WRAP_FROM = 4294966271  # Part 6, 6.7.2.4: a sequence number may wrap after this
_STATUS_NAMES = {
    0x80010000: "BadUnexpectedError",
    0x80020000: "BadInternalError",
    0x80030000: "BadOutOfMemory",
    0x800A0000: "BadTimeout",
    0x800B0000: "BadServiceUnsupported",
    0x800E0000: "BadServerHalted",
    0x80130000: "BadSecurityChecksFailed",
    0x80220000: "BadSecureChannelIdInvalid",
    0x80830000: "BadTcpMessageTypeInvalid",
    0x80840000: "BadTcpSecureChannelUnknown",
    0x80850000: "BadTcpMessageTooLarge",
    0x80860000: "BadTcpNotEnoughResources",
    0x80870000: "BadTcpInternalError",
    0x80880000: "BadTcpEndpointUrlInvalid",
    0x80AB0000: "BadTooManySessions",
    0x80AC0000: "BadTooManyOperations",
}


class ProtocolError(Exception):
    """A message we cannot accept: truncated, out of bounds, unexpected or inconsistent."""


class StatusError(ProtocolError):
    """The peer answered with a bad status code (``ServiceResult``, ``ServiceFault``, ``ERR``)."""

    def __init__(self, code: int, what: str, reason: str | None = None) -> None:
        self.code = code
        text = f"{what} {status_name(code)}"
        if reason:
            text = f"{text}: {_clip(reason)}"
        super().__init__(text)


def status_name(code: int) -> str:
    """``BadTimeout (0x800A0000)``, or the hex code alone when the name is not known here."""
    hex_code = f"0x{code:08X}"
    name = _STATUS_NAMES.get(code & 0xFFFF0000)
    return f"{name} ({hex_code})" if name else hex_code


# -- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeId:
    namespace: int
    identifier: int | str | bytes | None


@dataclass(frozen=True)
class Header:
    """The 8 bytes every message starts with: type, chunk type and size (header included)."""

    message_type: bytes
    chunk_type: bytes
    size: int


@dataclass(frozen=True)
class Message:
    """One whole message: its type, the secure-channel fields (zero for ACK and ERR), and body."""

    message_type: bytes
    channel_id: int
    token_id: int
    request_id: int
    body: bytes


@dataclass(frozen=True)
class Acknowledge:
    protocol_version: int
    receive_buffer_size: int
    send_buffer_size: int
    max_message_size: int
    max_chunk_count: int


@dataclass(frozen=True)
class OpenedChannel:
    channel_id: int
    token_id: int
    revised_lifetime_ms: int


@dataclass(frozen=True)
class ApplicationDescription:
    application_uri: str
    product_uri: str
    application_name: str
    application_type: int
    discovery_urls: tuple[str, ...]


@dataclass(frozen=True)
class EndpointDescription:
    endpoint_url: str
    server: ApplicationDescription
    security_mode: int
    security_policy_uri: str
    security_level: int


# -- encoding -------------------------------------------------------------------------------


def _uint32(value: int) -> bytes:
    return struct.pack("<I", value)


def _string(value: str | None) -> bytes:
    if value is None:
        return b"\xff\xff\xff\xff"
    data = value.encode("utf-8")
    return struct.pack("<i", len(data)) + data


def _null_bytestring() -> bytes:
    return b"\xff\xff\xff\xff"


def _empty_array() -> bytes:
    return struct.pack("<i", 0)


def _type_id(identifier: int) -> bytes:
    """A FourByte NodeId in namespace 0."""
    return struct.pack("<BBH", 0x01, 0, identifier)


def date_time(unix_seconds: float) -> int:
    """OPC UA DateTime: 100 ns intervals since 1601-01-01 UTC."""
    return int((unix_seconds + _EPOCH_OFFSET_SECONDS) * 10_000_000)


def _request_header(*, handle: int, timeout_ms: int, now: float) -> bytes:
    return b"".join(
        [
            b"\x00\x00",  # AuthenticationToken: the null NodeId (no session)
            struct.pack("<q", date_time(now)),
            _uint32(handle),
            _uint32(0),  # ReturnDiagnostics
            _string(None),  # AuditEntryId
            _uint32(timeout_ms),  # TimeoutHint
            b"\x00\x00\x00",  # AdditionalHeader: the null ExtensionObject
        ]
    )


def _message(message_type: bytes, rest: bytes) -> bytes:
    return message_type + FINAL + _uint32(HEADER_SIZE + len(rest)) + rest


def hello(url: str) -> bytes:
    """``HEL`` with our limits: protocol version 0 and ``url`` as the endpoint URL."""
    fields = struct.pack(
        "<IIIII", 0, RECEIVE_BUFFER_SIZE, SEND_BUFFER_SIZE, MAX_MESSAGE_SIZE, MAX_CHUNK_COUNT
    )
    return _message(b"HEL", fields + _string(url))


def open_request(
    *, sequence: int, request_id: int, handle: int, timeout_ms: int, lifetime_ms: int, now: float
) -> bytes:
    """``OPN``: OpenSecureChannel (Issue), security policy and mode None, no certificates."""
    body = b"".join(
        [
            _type_id(OPEN_SECURE_CHANNEL_REQUEST),
            _request_header(handle=handle, timeout_ms=timeout_ms, now=now),
            _uint32(0),  # ClientProtocolVersion
            _uint32(REQUEST_TYPE_ISSUE),
            _uint32(SECURITY_MODE_NONE),
            _null_bytestring(),  # ClientNonce
            _uint32(lifetime_ms),
        ]
    )
    security = _string(SECURITY_POLICY_NONE) + _null_bytestring() + _null_bytestring()
    return _message(b"OPN", _uint32(0) + security + struct.pack("<II", sequence, request_id) + body)


def _symmetric(
    message_type: bytes,
    body: bytes,
    *,
    channel_id: int,
    token_id: int,
    sequence: int,
    request_id: int,
) -> bytes:
    headers = struct.pack("<IIII", channel_id, token_id, sequence, request_id)
    return _message(message_type, headers + body)


def find_servers_request(
    url: str,
    *,
    channel_id: int,
    token_id: int,
    sequence: int,
    request_id: int,
    handle: int,
    timeout_ms: int,
    now: float,
) -> bytes:
    """``MSG``: FindServers for ``url``, every locale, every server."""
    body = b"".join(
        [
            _type_id(FIND_SERVERS_REQUEST),
            _request_header(handle=handle, timeout_ms=timeout_ms, now=now),
            _string(url),
            _empty_array(),  # LocaleIds
            _empty_array(),  # ServerUris
        ]
    )
    return _symmetric(
        b"MSG",
        body,
        channel_id=channel_id,
        token_id=token_id,
        sequence=sequence,
        request_id=request_id,
    )


def get_endpoints_request(
    url: str,
    *,
    channel_id: int,
    token_id: int,
    sequence: int,
    request_id: int,
    handle: int,
    timeout_ms: int,
    now: float,
) -> bytes:
    """``MSG``: GetEndpoints for ``url``, every locale, every transport profile."""
    body = b"".join(
        [
            _type_id(GET_ENDPOINTS_REQUEST),
            _request_header(handle=handle, timeout_ms=timeout_ms, now=now),
            _string(url),
            _empty_array(),  # LocaleIds
            _empty_array(),  # ProfileUris
        ]
    )
    return _symmetric(
        b"MSG",
        body,
        channel_id=channel_id,
        token_id=token_id,
        sequence=sequence,
        request_id=request_id,
    )


def close_request(
    *, channel_id: int, token_id: int, sequence: int, request_id: int, handle: int, now: float
) -> bytes:
    """``CLO``: CloseSecureChannel (the server answers by closing the connection)."""
    body = _type_id(CLOSE_SECURE_CHANNEL_REQUEST) + _request_header(
        handle=handle, timeout_ms=0, now=now
    )
    return _symmetric(
        b"CLO",
        body,
        channel_id=channel_id,
        token_id=token_id,
        sequence=sequence,
        request_id=request_id,
    )


# -- decoding -------------------------------------------------------------------------------


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


class Reader:
    """Reads primitives from ``data``, never past its end."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, count: int) -> bytes:
        if count < 0 or count > self.remaining:
            raise ProtocolError(f"message truncated: {count} bytes wanted, {self.remaining} left")
        start, self._pos = self._pos, self._pos + count
        return self._data[start : self._pos]

    def skip(self, count: int) -> None:
        self.take(count)

    def _unpack(self, fmt: str, size: int) -> int:
        value: int = struct.unpack(fmt, self.take(size))[0]
        return value

    def byte(self) -> int:
        return self._unpack("<B", 1)

    def uint16(self) -> int:
        return self._unpack("<H", 2)

    def uint32(self) -> int:
        return self._unpack("<I", 4)

    def int32(self) -> int:
        return self._unpack("<i", 4)

    def int64(self) -> int:
        return self._unpack("<q", 8)

    def _length(self, what: str) -> int | None:
        length = self.int32()
        if length == -1:
            return None
        if length < -1:
            raise ProtocolError(f"{what} length {length}")
        return length

    def bytestring(self) -> bytes | None:
        length = self._length("byte string")
        return None if length is None else self.take(length)

    def string(self) -> str | None:
        length = self._length("string")
        return None if length is None else self.take(length).decode("utf-8", errors="replace")

    def text(self) -> str:
        """A String where null and empty mean the same to us."""
        return self.string() or ""

    def array(self, element: Callable[[Reader], T], *, min_size: int = 1) -> tuple[T, ...]:
        """An array (null is empty); the count is checked against the bytes left first."""
        length = self._length("array")
        if length is None:
            return ()
        if length > MAX_ARRAY_LENGTH:
            raise ProtocolError(f"array of {length} elements (at most {MAX_ARRAY_LENGTH})")
        if length * min_size > self.remaining:
            raise ProtocolError(f"array of {length} elements in {self.remaining} bytes")
        return tuple(element(self) for _ in range(length))

    def node_id(self) -> NodeId:
        """Any NodeId encoding (the expanded flags included); an unknown one is an error."""
        encoding = self.byte()
        kind = encoding & 0x3F
        if encoding & 0x30:
            raise ProtocolError(f"NodeId encoding 0x{encoding:02X}")
        identifier: int | str | bytes | None
        if kind == 0x00:
            namespace, identifier = 0, self.byte()
        elif kind == 0x01:
            namespace, identifier = self.byte(), self.uint16()
        elif kind == 0x02:
            namespace, identifier = self.uint16(), self.uint32()
        elif kind == 0x03:
            namespace, identifier = self.uint16(), self.string()
        elif kind == 0x04:
            namespace, identifier = self.uint16(), self.take(16)
        elif kind == 0x05:
            namespace, identifier = self.uint16(), self.bytestring()
        else:
            raise ProtocolError(f"NodeId encoding 0x{encoding:02X}")
        if encoding & 0x80:
            self.string()  # NamespaceUri
        if encoding & 0x40:
            self.uint32()  # ServerIndex
        return NodeId(namespace, identifier)

    def localized_text(self) -> str:
        mask = self.byte()
        if mask & ~0x03:
            raise ProtocolError(f"LocalizedText mask 0x{mask:02X}")
        if mask & 0x01:
            self.string()  # Locale
        return (self.string() or "") if mask & 0x02 else ""

    def extension_object(self) -> None:
        """Skips an ExtensionObject (a ResponseHeader's AdditionalHeader: nothing we use)."""
        self.node_id()
        encoding = self.byte()
        if encoding in (0x01, 0x02):
            self.bytestring()  # a binary body, or an XmlElement: both length-prefixed
        elif encoding != 0x00:
            raise ProtocolError(f"ExtensionObject encoding 0x{encoding:02X}")

    def diagnostic_info(self, depth: int = 0) -> None:
        """Skips a DiagnosticInfo, refusing one nested deeper than ``MAX_DIAGNOSTIC_DEPTH``."""
        if depth > MAX_DIAGNOSTIC_DEPTH:
            raise ProtocolError(f"DiagnosticInfo nested deeper than {MAX_DIAGNOSTIC_DEPTH}")
        mask = self.byte()
        if mask & 0x80:
            raise ProtocolError(f"DiagnosticInfo mask 0x{mask:02X}")
        for bit in (0x01, 0x02, 0x08, 0x04):  # SymbolicId, NamespaceUri, Locale, LocalizedText
            if mask & bit:
                self.int32()
        if mask & 0x10:
            self.string()  # AdditionalInfo
        if mask & 0x20:
            self.uint32()  # InnerStatusCode
        if mask & 0x40:
            self.diagnostic_info(depth + 1)


def parse_header(data: bytes) -> Header:
    """The first 8 bytes of a message; a type we do not know or a size out of bounds is refused."""
    if len(data) != HEADER_SIZE:
        raise ProtocolError(f"message header of {len(data)} bytes")
    message_type, chunk_type, size = struct.unpack("<3scI", data)
    if message_type not in MESSAGE_TYPES:
        raise ProtocolError(f"unknown message type {message_type!r}")
    if chunk_type not in (FINAL, INTERMEDIATE, ABORT):
        raise ProtocolError(f"unknown chunk type {chunk_type!r}")
    if chunk_type != FINAL and message_type not in SECURE_TYPES:
        raise ProtocolError(f"{message_type.decode()} chunk type {chunk_type!r}")
    if size < HEADER_SIZE or size > RECEIVE_BUFFER_SIZE:
        raise ProtocolError(f"message of {size} bytes (at most {RECEIVE_BUFFER_SIZE})")
    return Header(message_type, chunk_type, size)


class Reassembly:
    """The chunks of the messages on one connection in, whole messages out.

    Checks what is cheap to check: the channel id (from the ``OPN`` answer on), the token id (once
    ``token_id`` is set), sequence numbers that increase, and the bounds on size and chunk count.
    """

    def __init__(self) -> None:
        self.channel_id = 0
        self.token_id: int | None = None
        self._sequence: int | None = None
        self._parts: list[bytes] = []
        self._size = 0
        self._pending: tuple[bytes, int, int, int] | None = None  # type, channel, token, request

    def add(self, header: Header, payload: bytes) -> Message | None:
        """One chunk (``payload`` = the bytes after the header); the message once it is whole.

        An ``ERR`` message is returned like any other (``decode_error`` reads it); an abort chunk
        raises ``StatusError``."""
        if len(payload) != header.size - HEADER_SIZE:
            raise ProtocolError("chunk shorter than its header says")
        if header.message_type in (b"ACK", b"ERR"):
            if self._pending is not None:
                raise ProtocolError(f"{header.message_type.decode()} inside a chunked message")
            return Message(header.message_type, 0, 0, 0, payload)
        if header.message_type not in SECURE_TYPES:
            raise ProtocolError(f"unexpected {header.message_type.decode()} message")
        reader = Reader(payload)
        channel_id = reader.uint32()
        token_id = 0
        if header.message_type == b"OPN":
            policy = reader.string()
            reader.bytestring()  # SenderCertificate
            reader.bytestring()  # ReceiverCertificateThumbprint
            if policy != SECURITY_POLICY_NONE:
                raise ProtocolError(f"OPN answered with security policy {_clip(str(policy))}")
        else:
            token_id = reader.uint32()
        sequence = reader.uint32()
        request_id = reader.uint32()
        self._check_channel(header.message_type, channel_id, token_id)
        self._check_sequence(sequence)
        key = (header.message_type, channel_id, token_id, request_id)
        if self._pending is not None and self._pending != key:
            raise ProtocolError("chunks of two messages interleaved")
        if header.chunk_type == ABORT:
            self._reset()
            code, reason = _error_fields(Reader(reader.take(reader.remaining)))
            raise StatusError(code, "message aborted:", reason)
        part = reader.take(reader.remaining)
        self._size += len(part)
        self._parts.append(part)
        if self._size > MAX_MESSAGE_SIZE or len(self._parts) > MAX_CHUNK_COUNT:
            raise ProtocolError(
                f"message over {MAX_MESSAGE_SIZE} bytes or {MAX_CHUNK_COUNT} chunks"
            )
        if header.chunk_type == INTERMEDIATE:
            self._pending = key
            return None
        body = b"".join(self._parts)
        self._reset()
        return Message(header.message_type, channel_id, token_id, request_id, body)

    def _check_channel(self, message_type: bytes, channel_id: int, token_id: int) -> None:
        if message_type == b"OPN" and self.channel_id == 0:
            return  # the answer that assigns it
        if channel_id != self.channel_id:
            raise ProtocolError(f"secure channel id {channel_id}, expected {self.channel_id}")
        if message_type != b"OPN" and self.token_id is not None and token_id != self.token_id:
            raise ProtocolError(f"security token id {token_id}, expected {self.token_id}")

    def _check_sequence(self, sequence: int) -> None:
        last = self._sequence
        wrapped = last is not None and last > _SEQUENCE_WRAP_FROM and sequence < 1024
        if last is not None and sequence <= last and not wrapped:
            raise ProtocolError(f"sequence number {sequence} after {last}")
        self._sequence = sequence

    def _reset(self) -> None:
        self._parts = []
        self._size = 0
        self._pending = None


def _error_fields(reader: Reader) -> tuple[int, str | None]:
    code = reader.uint32()
    reason = reader.string()
    return code, reason


def decode_error(payload: bytes) -> StatusError:
    """An ``ERR`` message (Error, Reason) as the ``StatusError`` it stands for."""
    code, reason = _error_fields(Reader(payload))
    return StatusError(code, "server error", reason)


def decode_acknowledge(payload: bytes) -> Acknowledge:
    """``ACK``: the server's limits; a receive buffer too small for our requests is refused."""
    reader = Reader(payload)
    ack = Acknowledge(*(reader.uint32() for _ in range(5)))
    if ack.receive_buffer_size < MIN_BUFFER_SIZE:
        raise ProtocolError(f"server receive buffer of {ack.receive_buffer_size} bytes")
    return ack


def _response(body: bytes, expected: int, name: str) -> Reader:
    """A reader after the ResponseHeader of a ``name`` response (type ``expected``)."""
    reader = Reader(body)
    type_id = reader.node_id()
    if type_id.namespace != 0 or type_id.identifier not in (expected, SERVICE_FAULT):
        raise ProtocolError(f"{name} answered with an unexpected message type")
    reader.int64()  # Timestamp
    reader.uint32()  # RequestHandle
    result = reader.uint32()  # ServiceResult
    if type_id.identifier == SERVICE_FAULT:
        raise StatusError(result, f"{name} failed: service fault")
    if result & 0x80000000:
        raise StatusError(result, f"{name} failed:")
    reader.diagnostic_info()
    reader.array(Reader.string, min_size=4)  # StringTable
    reader.extension_object()
    return reader


def decode_open_response(body: bytes) -> OpenedChannel:
    """The channel id, token id and lifetime from an OpenSecureChannelResponse."""
    reader = _response(body, OPEN_SECURE_CHANNEL_RESPONSE, "OpenSecureChannel")
    reader.uint32()  # ServerProtocolVersion
    channel_id = reader.uint32()
    token_id = reader.uint32()
    reader.int64()  # CreatedAt
    lifetime = reader.uint32()
    reader.bytestring()  # ServerNonce
    if channel_id == 0:
        raise ProtocolError("OpenSecureChannel answered with channel id 0")
    return OpenedChannel(channel_id, token_id, lifetime)


def _application(reader: Reader) -> ApplicationDescription:
    uri = reader.text()
    product_uri = reader.text()
    name = reader.localized_text()
    application_type = reader.uint32()
    reader.string()  # GatewayServerUri
    reader.string()  # DiscoveryProfileUri
    urls = reader.array(Reader.text, min_size=4)
    return ApplicationDescription(uri, product_uri, name, application_type, urls)


def _user_token_policy(reader: Reader) -> None:
    reader.string()  # PolicyId
    reader.uint32()  # TokenType
    reader.string()  # IssuedTokenType
    reader.string()  # IssuerEndpointUrl
    reader.string()  # SecurityPolicyUri


def _endpoint(reader: Reader) -> EndpointDescription:
    url = reader.text()
    server = _application(reader)
    reader.bytestring()  # ServerCertificate
    mode = reader.uint32()
    policy = reader.text()
    reader.array(_user_token_policy, min_size=20)
    reader.string()  # TransportProfileUri
    level = reader.byte()
    return EndpointDescription(url, server, mode, policy, level)


# The least bytes an ApplicationDescription and an EndpointDescription take (all fields null).
_APPLICATION_MIN_SIZE = 4 + 4 + 1 + 4 + 4 + 4 + 4
_ENDPOINT_MIN_SIZE = 4 + _APPLICATION_MIN_SIZE + 4 + 4 + 4 + 4 + 4 + 1


def decode_find_servers(body: bytes) -> tuple[ApplicationDescription, ...]:
    """The ``Servers`` of a FindServersResponse."""
    reader = _response(body, FIND_SERVERS_RESPONSE, "FindServers")
    return reader.array(_application, min_size=_APPLICATION_MIN_SIZE)


def decode_endpoints(body: bytes) -> tuple[EndpointDescription, ...]:
    """The ``Endpoints`` of a GetEndpointsResponse."""
    reader = _response(body, GET_ENDPOINTS_RESPONSE, "GetEndpoints")
    return reader.array(_endpoint, min_size=_ENDPOINT_MIN_SIZE)
