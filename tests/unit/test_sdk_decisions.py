"""The SDK's pure decisions: settings, endpoints, back-off, registration requests, inotify parsing."""

from __future__ import annotations

import itertools
import os
import struct
from pathlib import Path

import pytest

from akri_common.filewatch import (
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_DELETE,
    IN_IGNORED,
    IN_MODIFY,
    concerns,
    parse_events,
)
from akri_common.settings import SettingsError
from akri_handler_sdk.endpoints import endpoint_for
from akri_handler_sdk.errors import InvalidDetailsError
from akri_handler_sdk.registration import Backoff, registration_request
from akri_handler_sdk.settings import HandlerSettings
from akri_proto.discovery.v0 import discovery_pb2 as pb

DIRECTORY = Path("/var/lib/akri")


def test_settings_defaults() -> None:
    settings = HandlerSettings.from_environment({"DISCOVERY_HANDLERS_DIRECTORY": "/var/lib/akri"})
    assert settings == HandlerSettings(directory=DIRECTORY)
    assert settings.port == 10000
    assert settings.registration_socket == DIRECTORY / "agent-registration.sock"


def test_settings_read_network_and_logging() -> None:
    settings = HandlerSettings.from_environment(
        {
            "DISCOVERY_HANDLERS_DIRECTORY": "/d",
            "POD_IP": "10.0.0.7",
            "DISCOVERY_HANDLER_PORT": "10123",
            "LOG_LEVEL": "debug",
            "LOG_FORMAT": "json",
        }
    )
    assert (settings.pod_ip, settings.port, settings.log_level, settings.log_format) == (
        "10.0.0.7",
        10123,
        "debug",
        "json",
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "DISCOVERY_HANDLERS_DIRECTORY"),
        ({"DISCOVERY_HANDLERS_DIRECTORY": "/d", "DISCOVERY_HANDLER_PORT": "ten"}, "PORT"),
        ({"DISCOVERY_HANDLERS_DIRECTORY": "/d", "LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ],
)
def test_settings_errors_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        HandlerSettings.from_environment(env)


def test_unix_endpoint_follows_upstream_naming() -> None:
    endpoint = endpoint_for("debugEcho", HandlerSettings(directory=DIRECTORY))
    assert endpoint.registered == "/var/lib/akri/debugEcho.sock"
    assert endpoint.bind == "unix:/var/lib/akri/debugEcho.sock"
    assert endpoint.socket_path == DIRECTORY / "debugEcho.sock"
    assert not endpoint.network


@pytest.mark.parametrize(
    ("pod_ip", "port", "bind", "registered"),
    [
        ("10.1.2.3", 10000, "10.1.2.3:10000", "http://10.1.2.3:10000"),
        ("fd00::5", 10000, "[fd00::5]:10000", "http://[fd00::5]:10000"),
        ("127.0.0.1", 40123, "127.0.0.1:40123", "http://127.0.0.1:40123"),
    ],
)
def test_network_endpoint(pod_ip: str, port: int, bind: str, registered: str) -> None:
    endpoint = endpoint_for("onvif", HandlerSettings(directory=DIRECTORY, pod_ip=pod_ip, port=port))
    assert (endpoint.bind, endpoint.registered, endpoint.network) == (bind, registered, True)
    assert endpoint.socket_path is None


def test_network_endpoint_takes_the_bound_port() -> None:
    endpoint = endpoint_for("x", HandlerSettings(directory=DIRECTORY, pod_ip="127.0.0.1", port=0))
    assert endpoint.with_port(4321).registered == "http://127.0.0.1:4321"


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = list(itertools.islice(Backoff(initial=0.1, cap=2.0).delays(), 7))
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0])


@pytest.mark.parametrize(
    ("settings", "endpoint_type", "endpoint"),
    [
        (
            HandlerSettings(directory=DIRECTORY),
            pb.RegisterDiscoveryHandlerRequest.UDS,
            "/var/lib/akri/h.sock",
        ),
        (
            HandlerSettings(directory=DIRECTORY, pod_ip="10.0.0.1"),
            pb.RegisterDiscoveryHandlerRequest.NETWORK,
            "http://10.0.0.1:10000",
        ),
    ],
)
def test_registration_request(
    settings: HandlerSettings,
    endpoint_type: pb.RegisterDiscoveryHandlerRequest.EndpointType,
    endpoint: str,
) -> None:
    request = registration_request(name="h", endpoint=endpoint_for("h", settings), shared=True)
    assert request == pb.RegisterDiscoveryHandlerRequest(
        name="h", endpoint=endpoint, endpoint_type=endpoint_type, shared=True
    )


def test_invalid_details_message_names_the_field() -> None:
    err = InvalidDetailsError("descriptions", "expected a list of strings")
    assert str(err) == "descriptions: expected a list of strings"
    assert (err.field, err.reason) == ("descriptions", "expected a list of strings")


def _event(mask: int, name: str) -> bytes:
    raw = os.fsencode(name)
    padded = raw + b"\0" * (16 - len(raw) % 16) if raw else b""
    return struct.pack("iIII", 1, mask, 0, len(padded)) + padded


def test_parse_events_splits_a_read_buffer() -> None:
    buffer = _event(IN_CREATE, "a.txt") + _event(IN_CLOSE_WRITE, "other") + _event(IN_IGNORED, "")
    assert parse_events(buffer) == [
        (IN_CREATE, "a.txt"),
        (IN_CLOSE_WRITE, "other"),
        (IN_IGNORED, ""),
    ]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([(IN_CREATE, "a.txt")], (True, False)),
        ([(IN_DELETE, "a.txt")], (True, False)),
        ([(IN_CLOSE_WRITE, "b.txt")], (False, False)),
        ([(IN_MODIFY, "a.txt")], (False, False)),
        ([(IN_IGNORED, "")], (False, True)),
    ],
)
def test_concerns(events: list[tuple[int, str]], expected: tuple[bool, bool]) -> None:
    assert concerns(events, "a.txt") == expected
