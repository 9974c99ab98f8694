"""The OPC UA binary codec (pure, no I/O), checked against asyncua's own encoder and decoder.

asyncua is a development dependency and an independent implementation of the same wire format:
what we encode, it decodes to the values we meant; what it encodes, we decode. Hostile input
(truncated, huge counts, deep nesting, unknown encodings) is a ``ProtocolError``, never another
exception.
"""

from __future__ import annotations

import random
import struct
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from asyncua import ua as asyncua_ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import (
    header_from_binary,
    nodeid_to_binary,
    struct_from_binary,
    struct_to_binary,
)

from akri_opcua import binary
from akri_opcua.binary import ProtocolError, Reassembly, StatusError

# asyncua's scalar types (String, Int32, ...) are NewTypes that plain values do not satisfy under
# strict mypy: its message classes are used here as asyncua's users use them, untyped.
ua: Any = asyncua_ua

URL = "opc.tcp://plc.factory:4840/line1/"
POLICY_NONE = "http://opcfoundation.org/UA/SecurityPolicy#None"


# -- helpers -----------------------------------------------------------------------------------


def read_message(data: bytes) -> tuple[ua.Header, Buffer]:
    buffer = Buffer(data)
    header = header_from_binary(buffer)
    assert header.packet_size == len(data)
    return header, buffer


def response_header(**fields: Any) -> ua.ResponseHeader:
    return ua.ResponseHeader(RequestHandle=7, **fields)


def application(name: str = "Line 1 PLC", **fields: Any) -> ua.ApplicationDescription:
    values: dict[str, Any] = {
        "ApplicationUri": f"urn:akri-py:{name}",
        "ProductUri": "urn:akri-py:product",
        "ApplicationName": ua.LocalizedText(name, "en-US"),
        "ApplicationType": ua.ApplicationType.Server,
        "DiscoveryUrls": [URL, "https://plc.factory/"],
    }
    values.update(fields)
    return ua.ApplicationDescription(**values)


def endpoint(mode: ua.MessageSecurityMode, policy: str) -> ua.EndpointDescription:
    return ua.EndpointDescription(
        EndpointUrl=URL,
        Server=application(),
        ServerCertificate=b"\x30\x82" + bytes(700),
        SecurityMode=mode,
        SecurityPolicyUri=policy,
        UserIdentityTokens=[
            ua.UserTokenPolicy(PolicyId="anonymous", TokenType=ua.UserTokenType.Anonymous),
            ua.UserTokenPolicy(
                PolicyId="user",
                TokenType=ua.UserTokenType.UserName,
                SecurityPolicyUri=policy,
            ),
        ],
        TransportProfileUri="http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary",
        SecurityLevel=3,
    )


def find_servers_body(*applications: ua.ApplicationDescription, **header: Any) -> bytes:
    response = ua.FindServersResponse(
        ResponseHeader=response_header(**header), Servers=list(applications)
    )
    return bytes(struct_to_binary(response))


def endpoints_body(*endpoints: ua.EndpointDescription) -> bytes:
    response = ua.GetEndpointsResponse(ResponseHeader=response_header(), Endpoints=list(endpoints))
    return bytes(struct_to_binary(response))


def chunk(
    message_type: bytes,
    chunk_type: bytes,
    body: bytes,
    *,
    channel_id: int = 5,
    token_id: int = 9,
    sequence: int = 1,
    request_id: int = 1,
) -> tuple[binary.Header, bytes]:
    """A symmetric (MSG/CLO) chunk, split into its parsed header and its payload."""
    payload = struct.pack("<IIII", channel_id, token_id, sequence, request_id) + body
    data = message_type + chunk_type + struct.pack("<I", 8 + len(payload)) + payload
    return binary.parse_header(data[:8]), data[8:]


def open_chunk(
    body: bytes, *, channel_id: int = 5, policy: str = POLICY_NONE
) -> tuple[binary.Header, bytes]:
    security = struct_to_binary(ua.AsymmetricAlgorithmHeader(SecurityPolicyURI=policy))
    payload = struct.pack("<I", channel_id) + security + struct.pack("<II", 1, 1) + body
    data = b"OPNF" + struct.pack("<I", 8 + len(payload)) + payload
    return binary.parse_header(data[:8]), data[8:]


def opened_reassembly() -> Reassembly:
    reassembly = Reassembly()
    reassembly.channel_id = 5
    reassembly.token_id = 9
    return reassembly


# -- what we send, as asyncua reads it ---------------------------------------------------------


def test_hello_is_read_by_asyncua_with_our_limits() -> None:
    header, buffer = read_message(binary.hello(URL))
    assert (header.MessageType, header.ChunkType) == (b"HEL", b"F")
    hello = struct_from_binary(ua.Hello, buffer)
    assert hello == ua.Hello(
        ProtocolVersion=0,
        ReceiveBufferSize=binary.RECEIVE_BUFFER_SIZE,
        SendBufferSize=binary.SEND_BUFFER_SIZE,
        MaxMessageSize=binary.MAX_MESSAGE_SIZE,
        MaxChunkCount=binary.MAX_CHUNK_COUNT,
        EndpointUrl=URL,
    )


def test_open_request_is_an_issue_with_security_none_and_no_certificates() -> None:
    now = time.time()
    data = binary.open_request(
        sequence=1, request_id=1, handle=1, timeout_ms=2000, lifetime_ms=3_600_000, now=now
    )
    header, buffer = read_message(data)
    assert (header.MessageType, header.ChunkType, header.ChannelId) == (b"OPN", b"F", 0)
    security = struct_from_binary(ua.AsymmetricAlgorithmHeader, buffer)
    assert security.SecurityPolicyURI == POLICY_NONE
    assert security.SenderCertificate is None
    assert security.ReceiverCertificateThumbPrint is None
    sequence = struct_from_binary(ua.SequenceHeader, buffer)
    assert (sequence.SequenceNumber, sequence.RequestId) == (1, 1)
    request = struct_from_binary(ua.OpenSecureChannelRequest, buffer)
    assert request.TypeId == ua.FourByteNodeId(
        ua.ObjectIds.OpenSecureChannelRequest_Encoding_DefaultBinary
    )
    assert request.RequestHeader.AuthenticationToken == ua.NodeId()
    assert request.RequestHeader.RequestHandle == 1
    assert request.RequestHeader.TimeoutHint == 2000
    assert abs(request.RequestHeader.Timestamp.timestamp() - now) < 0.001
    parameters = request.Parameters
    assert parameters.RequestType == ua.SecurityTokenRequestType.Issue
    assert parameters.SecurityMode == ua.MessageSecurityMode.None_
    assert parameters.ClientNonce is None
    assert parameters.RequestedLifetime == 3_600_000
    assert len(buffer) == 0


@pytest.mark.parametrize(
    ("encode", "request_type", "profiles"),
    [
        (binary.find_servers_request, ua.FindServersRequest, "ServerUris"),
        (binary.get_endpoints_request, ua.GetEndpointsRequest, "ProfileUris"),
    ],
)
def test_service_requests_are_read_by_asyncua(
    encode: Any, request_type: type[Any], profiles: str
) -> None:
    data = encode(
        URL,
        channel_id=5,
        token_id=9,
        sequence=3,
        request_id=2,
        handle=2,
        timeout_ms=1000,
        now=time.time(),
    )
    header, buffer = read_message(data)
    assert (header.MessageType, header.ChannelId) == (b"MSG", 5)
    assert struct_from_binary(ua.SymmetricAlgorithmHeader, buffer).TokenId == 9
    sequence = struct_from_binary(ua.SequenceHeader, buffer)
    assert (sequence.SequenceNumber, sequence.RequestId) == (3, 2)
    request = struct_from_binary(request_type, buffer)
    assert request.Parameters.EndpointUrl == URL
    assert request.Parameters.LocaleIds == []
    assert getattr(request.Parameters, profiles) == []
    assert request.RequestHeader.TimeoutHint == 1000
    assert len(buffer) == 0


def test_close_request_is_read_by_asyncua() -> None:
    data = binary.close_request(
        channel_id=5, token_id=9, sequence=4, request_id=3, handle=3, now=time.time()
    )
    header, buffer = read_message(data)
    assert (header.MessageType, header.ChannelId) == (b"CLO", 5)
    assert struct_from_binary(ua.SymmetricAlgorithmHeader, buffer).TokenId == 9
    struct_from_binary(ua.SequenceHeader, buffer)
    request = struct_from_binary(ua.CloseSecureChannelRequest, buffer)
    assert (
        request.TypeId.Identifier == ua.ObjectIds.CloseSecureChannelRequest_Encoding_DefaultBinary
    )
    assert len(buffer) == 0


def test_date_time_counts_100_ns_since_1601() -> None:
    assert binary.date_time(0.0) == 116444736000000000
    moment = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    assert (
        binary.date_time(moment.timestamp())
        == struct.unpack("<q", struct_to_binary(ua.ResponseHeader(Timestamp=moment))[:8])[0]
    )


# -- what asyncua encodes, as we read it -------------------------------------------------------


def test_find_servers_response_from_asyncua() -> None:
    body = find_servers_body(
        application(),
        application(
            "Prüfstand 2",
            ApplicationName=ua.LocalizedText("Prüfstand 2"),
            ApplicationType=ua.ApplicationType.ClientAndServer,
        ),
        ua.ApplicationDescription(ApplicationType=ua.ApplicationType.DiscoveryServer),
    )
    first, second, bare = binary.decode_find_servers(body)
    assert first == binary.ApplicationDescription(
        application_uri="urn:akri-py:Line 1 PLC",
        product_uri="urn:akri-py:product",
        application_name="Line 1 PLC",
        application_type=0,
        discovery_urls=(URL, "https://plc.factory/"),
    )
    assert (second.application_name, second.application_type) == ("Prüfstand 2", 2)
    assert bare == binary.ApplicationDescription("", "", "", 3, ())


def test_find_servers_response_with_diagnostics_string_table_and_additional_header() -> None:
    diagnostics = ua.DiagnosticInfo(
        SymbolicId=1,
        NamespaceURI=2,
        Locale=3,
        LocalizedText=4,
        AdditionalInfo="more",
        InnerStatusCode=ua.StatusCode(ua.StatusCodes.Good),
    )
    extra = ua.ExtensionObject(TypeId=ua.NodeId("x", 2), Body=b"\x01\x02\x03")
    body = find_servers_body(
        application(),
        ServiceDiagnostics=diagnostics,
        StringTable=["a", "b"],
        AdditionalHeader=extra,
    )
    (found,) = binary.decode_find_servers(body)
    assert found.application_name == "Line 1 PLC"


def test_get_endpoints_response_from_asyncua() -> None:
    basic = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"
    body = endpoints_body(
        endpoint(ua.MessageSecurityMode.None_, POLICY_NONE),
        endpoint(ua.MessageSecurityMode.SignAndEncrypt, basic),
    )
    none, secure = binary.decode_endpoints(body)
    assert (none.endpoint_url, none.security_mode, none.security_policy_uri) == (
        URL,
        1,
        POLICY_NONE,
    )
    assert (secure.security_mode, secure.security_policy_uri, secure.security_level) == (
        3,
        basic,
        3,
    )
    assert secure.server.application_name == "Line 1 PLC"


def test_open_secure_channel_response_from_asyncua() -> None:
    response = ua.OpenSecureChannelResponse(
        ResponseHeader=response_header(),
        Parameters=ua.OpenSecureChannelResult(
            SecurityToken=ua.ChannelSecurityToken(ChannelId=5, TokenId=9, RevisedLifetime=600_000),
            ServerNonce=b"",
        ),
    )
    opened = binary.decode_open_response(bytes(struct_to_binary(response)))
    assert opened == binary.OpenedChannel(channel_id=5, token_id=9, revised_lifetime_ms=600_000)


def test_service_fault_and_bad_service_result_name_the_code_in_hex() -> None:
    fault = ua.ServiceFault(
        ResponseHeader=ua.ResponseHeader(ServiceResult=ua.StatusCode(ua.StatusCodes.BadTimeout))
    )
    with pytest.raises(
        StatusError, match=r"FindServers failed: service fault BadTimeout \(0x800A0000\)"
    ):
        binary.decode_find_servers(bytes(struct_to_binary(fault)))
    body = find_servers_body(ServiceResult=ua.StatusCode(0x80FF0000))
    with pytest.raises(StatusError, match=r"FindServers failed: 0x80FF0000") as caught:
        binary.decode_find_servers(body)
    assert caught.value.code == 0x80FF0000
    # An uncertain or good result is an answer.
    assert (
        binary.decode_find_servers(find_servers_body(ServiceResult=ua.StatusCode(0x40000000))) == ()
    )


def test_an_answer_of_another_type_is_refused() -> None:
    with pytest.raises(ProtocolError, match="unexpected message type"):
        binary.decode_endpoints(find_servers_body(application()))


def test_error_message_becomes_a_status_error_with_a_clipped_reason() -> None:
    payload = bytes(
        struct_to_binary(
            ua.ErrorMessage(Error=ua.StatusCode(0x80880000), Reason="no such endpoint " * 50)
        )
    )
    error = binary.decode_error(payload)
    assert error.code == 0x80880000
    assert str(error).startswith("server error BadTcpEndpointUrlInvalid (0x80880000): no such")
    assert len(str(error)) < 160


def test_acknowledge_from_asyncua() -> None:
    payload = bytes(struct_to_binary(ua.Acknowledge(ReceiveBufferSize=65536)))
    assert binary.decode_acknowledge(payload).receive_buffer_size == 65536
    small = bytes(struct_to_binary(ua.Acknowledge(ReceiveBufferSize=1000)))
    with pytest.raises(ProtocolError, match="receive buffer"):
        binary.decode_acknowledge(small)


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (ua.TwoByteNodeId(7), binary.NodeId(0, 7)),
        (ua.FourByteNodeId(431, 1), binary.NodeId(1, 431)),
        (ua.NumericNodeId(70000, 3), binary.NodeId(3, 70000)),
        (ua.StringNodeId("Line1.Type", 2), binary.NodeId(2, "Line1.Type")),
        (ua.ByteStringNodeId(b"\x00\x01", 4), binary.NodeId(4, b"\x00\x01")),
        (
            ua.GuidNodeId(uuid.UUID("72962b91-fa75-4ae6-8d28-b404dc7daf63"), 5),
            binary.NodeId(5, uuid.UUID("72962b91-fa75-4ae6-8d28-b404dc7daf63").bytes_le),
        ),
        (
            ua.ExpandedNodeId(431, 0, ua.NodeIdType.FourByte, "urn:ns", 3),
            binary.NodeId(0, 431),
        ),
    ],
)
def test_every_node_id_encoding_decodes(node: ua.NodeId, expected: binary.NodeId) -> None:
    reader = binary.Reader(nodeid_to_binary(node) + b"!")
    assert reader.node_id() == expected
    assert reader.take(1) == b"!"


@pytest.mark.parametrize("encoding", [0x06, 0x0F, 0x10, 0x23, 0x3F])
def test_an_unknown_node_id_encoding_is_refused(encoding: int) -> None:
    with pytest.raises(ProtocolError, match="NodeId encoding"):
        binary.Reader(bytes([encoding]) + bytes(32)).node_id()


def test_a_response_type_given_as_a_string_node_id_is_refused() -> None:
    body = nodeid_to_binary(ua.StringNodeId("FindServersResponse", 0)) + bytes(64)
    with pytest.raises(ProtocolError, match="unexpected message type"):
        binary.decode_find_servers(body)


# -- chunks ------------------------------------------------------------------------------------


def test_chunks_are_joined_and_the_request_id_kept() -> None:
    reassembly = opened_reassembly()
    body = find_servers_body(application(), application("Other"))
    parts = [body[:100], body[100:200], body[200:]]
    assert reassembly.add(*chunk(b"MSG", b"C", parts[0], sequence=10, request_id=4)) is None
    assert reassembly.add(*chunk(b"MSG", b"C", parts[1], sequence=11, request_id=4)) is None
    message = reassembly.add(*chunk(b"MSG", b"F", parts[2], sequence=12, request_id=4))
    assert message is not None
    assert (message.message_type, message.channel_id, message.request_id) == (b"MSG", 5, 4)
    assert message.body == body
    assert len(binary.decode_find_servers(message.body)) == 2


def test_open_answer_assigns_the_channel_and_is_read_whole() -> None:
    reassembly = Reassembly()
    message = reassembly.add(*open_chunk(b"body", channel_id=77))
    assert message is not None
    assert (message.message_type, message.channel_id, message.body) == (b"OPN", 77, b"body")


def test_open_answer_with_another_security_policy_is_refused() -> None:
    with pytest.raises(ProtocolError, match="security policy"):
        Reassembly().add(
            *open_chunk(b"", policy="http://opcfoundation.org/UA/SecurityPolicy#" + "x" * 500)
        )


def test_acknowledge_and_error_pass_through() -> None:
    reassembly = Reassembly()
    ack = reassembly.add(binary.Header(b"ACK", b"F", 28), bytes(20))
    assert ack is not None
    assert ack.message_type == b"ACK"
    err = reassembly.add(binary.Header(b"ERR", b"F", 16), bytes(8))
    assert err is not None
    assert err.message_type == b"ERR"


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"channel_id": 6}, "secure channel id 6"),
        ({"token_id": 10}, "security token id 10"),
    ],
)
def test_a_chunk_of_another_channel_or_token_is_refused(fields: dict[str, int], match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        opened_reassembly().add(*chunk(b"MSG", b"F", b"", **fields))


def test_sequence_numbers_must_increase_but_may_wrap() -> None:
    reassembly = opened_reassembly()
    reassembly.add(*chunk(b"MSG", b"F", b"", sequence=5))
    with pytest.raises(ProtocolError, match="sequence number 5 after 5"):
        reassembly.add(*chunk(b"MSG", b"F", b"", sequence=5))
    wrapping = opened_reassembly()
    wrapping.add(*chunk(b"MSG", b"F", b"", sequence=4294967295))
    assert wrapping.add(*chunk(b"MSG", b"F", b"", sequence=1)) is not None


def test_interleaved_chunks_of_two_messages_are_refused() -> None:
    reassembly = opened_reassembly()
    reassembly.add(*chunk(b"MSG", b"C", b"a", sequence=1, request_id=1))
    with pytest.raises(ProtocolError, match="interleaved"):
        reassembly.add(*chunk(b"MSG", b"F", b"b", sequence=2, request_id=2))


def test_an_abort_chunk_is_a_status_error() -> None:
    reassembly = opened_reassembly()
    reassembly.add(*chunk(b"MSG", b"C", b"part", sequence=1))
    error = bytes(struct_to_binary(ua.ErrorMessage(Error=ua.StatusCode(0x80850000), Reason="big")))
    with pytest.raises(StatusError, match=r"message aborted: BadTcpMessageTooLarge"):
        reassembly.add(*chunk(b"MSG", b"A", error, sequence=2))


def test_a_message_over_the_chunk_count_or_size_limit_is_refused() -> None:
    reassembly = opened_reassembly()
    for sequence in range(1, binary.MAX_CHUNK_COUNT + 1):
        assert reassembly.add(*chunk(b"MSG", b"C", b"x", sequence=sequence)) is None
    with pytest.raises(ProtocolError, match="chunks"):
        reassembly.add(*chunk(b"MSG", b"C", b"x", sequence=binary.MAX_CHUNK_COUNT + 1))
    # 17 chunks of 64 KiB pass the chunk count but not the 1 MiB size.
    reassembly = opened_reassembly()
    part = bytes(binary.RECEIVE_BUFFER_SIZE - 24)
    for sequence in range(1, 17):
        assert reassembly.add(*chunk(b"MSG", b"C", part, sequence=sequence)) is None
    with pytest.raises(ProtocolError, match="bytes"):
        reassembly.add(*chunk(b"MSG", b"C", part, sequence=17))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"MSGF" + struct.pack("<I", binary.RECEIVE_BUFFER_SIZE + 1), "at most"),
        (b"MSGF" + struct.pack("<I", 0xFFFFFFFF), "at most"),
        (b"MSGF" + struct.pack("<I", 7), "message of 7 bytes"),
        (b"XYZF" + struct.pack("<I", 16), "unknown message type"),
        (b"MSGZ" + struct.pack("<I", 16), "unknown chunk type"),
        (b"ACKC" + struct.pack("<I", 16), "chunk type"),
        (b"MSG", "header of 3 bytes"),
    ],
)
def test_bad_headers_are_refused(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        binary.parse_header(data)


# -- hostile bodies ----------------------------------------------------------------------------


def test_every_truncation_of_a_real_answer_is_a_protocol_error() -> None:
    body = endpoints_body(endpoint(ua.MessageSecurityMode.None_, POLICY_NONE))
    for end in range(len(body)):
        with pytest.raises(ProtocolError):
            binary.decode_endpoints(body[:end])


def _servers_with_count(count: int) -> bytes:
    head = bytes(struct_to_binary(ua.ResponseHeader()))
    return nodeid_to_binary(ua.FourByteNodeId(425)) + head + struct.pack("<i", count)


@pytest.mark.parametrize(
    ("count", "match"),
    [
        (2**31 - 1, "at most 1000"),
        (binary.MAX_ARRAY_LENGTH, "in 0 bytes"),  # allowed, but the bytes are not there
        (-2, "array length -2"),
    ],
)
def test_array_counts_are_checked_before_anything_is_allocated(count: int, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        binary.decode_find_servers(_servers_with_count(count))


def test_a_null_array_is_empty() -> None:
    assert binary.decode_find_servers(_servers_with_count(-1)) == ()


@pytest.mark.parametrize("length", [2**31 - 1, 100, -5])
def test_string_lengths_are_checked_against_the_bytes_left(length: int) -> None:
    with pytest.raises(ProtocolError):
        binary.Reader(struct.pack("<i", length) + b"short").string()


def test_deeply_nested_diagnostic_info_is_refused() -> None:
    nested = b"\x40" * 100_000 + b"\x00"
    with pytest.raises(ProtocolError, match="nested deeper"):
        binary.Reader(nested).diagnostic_info()
    allowed = b"\x40" * binary.MAX_DIAGNOSTIC_DEPTH + b"\x00"
    binary.Reader(allowed).diagnostic_info()


def test_invalid_utf8_in_a_string_is_replaced_not_raised() -> None:
    assert binary.Reader(struct.pack("<i", 2) + b"\xff\xfe").string() == "\ufffd\ufffd"


@pytest.mark.parametrize(
    "decode",
    [
        binary.decode_find_servers,
        binary.decode_endpoints,
        binary.decode_open_response,
        binary.decode_acknowledge,
        binary.decode_error,
    ],
)
def test_random_and_mutated_bytes_only_ever_raise_protocol_errors(decode: Any) -> None:
    rng = random.Random(4840)
    real = endpoints_body(endpoint(ua.MessageSecurityMode.Sign, POLICY_NONE))
    failures: list[str] = []
    for _ in range(400):
        if rng.random() < 0.5:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        else:
            mutated = bytearray(real)
            for _ in range(rng.randrange(1, 8)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            data = bytes(mutated)
        failures.extend(_failure(decode, data))
    assert all(len(text) < 200 for text in failures)


def _failure(decode: Any, data: bytes) -> list[str]:
    """The message of the ``ProtocolError`` decoding ``data`` raises (none when it decodes)."""
    try:
        decode(data)
    except ProtocolError as err:
        return [str(err)]
    return []
