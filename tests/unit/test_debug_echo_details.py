"""debugEcho's pure parts: details parsing, availability, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from akri_common.devices import Device
from akri_common.settings import SettingsError
from akri_debug_echo.availability import devices_for, is_online
from akri_debug_echo.details import DebugEchoDetails, parse_details
from akri_debug_echo.handler import DebugEchoHandler
from akri_debug_echo.settings import DebugEchoSettings
from akri_handler_sdk.errors import InvalidDetailsError
from akri_handler_sdk.protocol import DiscoveryHandler


@pytest.mark.parametrize(
    ("text", "descriptions"),
    [
        ("descriptions:\n- foo0\n- foo1\n", ("foo0", "foo1")),
        ('{"descriptions": ["foo0"]}', ("foo0",)),
        ("descriptions: []", ()),
        ("descriptions: ['a b', 'c']\nextra: 1", ("a b", "c")),
    ],
)
def test_parse_details(text: str, descriptions: tuple[str, ...]) -> None:
    assert parse_details(text) == DebugEchoDetails(descriptions=descriptions)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "discoveryDetails: expected a mapping with a descriptions list, got nothing"),
        ("- foo", "discoveryDetails: expected a mapping with a descriptions list, got list"),
        ("descriptions: [foo", "discoveryDetails: not valid YAML or JSON"),
        ("other: 1", "descriptions: is required"),
        ("descriptions: foo0", "descriptions: expected a list of strings, got 'foo0'"),
        ("descriptions: [foo0, 3]", "descriptions: expected a list of strings, got ['foo0', 3]"),
        ("descriptions: {a: b}", "descriptions: expected a list of strings"),
    ],
)
def test_bad_details_name_the_field(text: str, message: str) -> None:
    with pytest.raises(InvalidDetailsError) as caught:
        parse_details(text)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("content", "online"),
    [(None, True), ("", True), ("ONLINE", True), ("OFFLINE", False), ("x\nOFFLINE\n", False)],
)
def test_is_online(content: str | None, online: bool) -> None:
    assert is_online(content) is online


def test_devices_for_one_device_per_description() -> None:
    details = DebugEchoDetails(descriptions=("foo0", "foo1"))
    assert devices_for(details, online=True) == (
        Device(id="foo0", properties={"DEBUG_ECHO_DESCRIPTION": "foo0"}),
        Device(id="foo1", properties={"DEBUG_ECHO_DESCRIPTION": "foo1"}),
    )
    assert devices_for(details, online=False) == ()


def test_settings() -> None:
    settings = DebugEchoSettings.from_environment({"DEBUG_ECHO_INSTANCES_SHARED": "false"})
    assert settings == DebugEchoSettings(
        shared=False, availability_file=Path("/tmp/debug-echo-availability.txt")
    )
    overridden = DebugEchoSettings.from_environment(
        {"DEBUG_ECHO_INSTANCES_SHARED": "true", "DEBUG_ECHO_AVAILABILITY_FILE": "/x/a.txt"}
    )
    assert overridden == DebugEchoSettings(shared=True, availability_file=Path("/x/a.txt"))


@pytest.mark.parametrize("env", [{}, {"DEBUG_ECHO_INSTANCES_SHARED": "maybe"}])
def test_settings_require_shared(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="DEBUG_ECHO_INSTANCES_SHARED"):
        DebugEchoSettings.from_environment(env)


def test_handler_satisfies_the_sdk_protocol() -> None:
    handler: DiscoveryHandler[DebugEchoDetails] = DebugEchoHandler(
        shared=True, availability_file=Path("/tmp/a")
    )
    assert (handler.name, handler.shared) == ("debugEcho", True)
    parsed = handler.parse_details("descriptions: [a]", {"ignored": None})
    assert parsed == DebugEchoDetails(descriptions=("a",))
