"""settings.Environment: typed reads of environment variables and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from akri_common.settings import Environment, SettingsError

ENV = Environment(
    {
        "AGENT_NODE_NAME": "node-a",
        "EMPTY": "",
        "DISCOVERY_HANDLERS_DIRECTORY": "/var/lib/akri",
        "YES": "Yes",
        "ON": " on ",
        "ZERO": "0",
        "OFF": "off",
        "MAYBE": "maybe",
        "PORT": "8080",
        "NEGATIVE": "-1",
        "HUGE": "70000",
        "WORDS": "eight",
    }
)


def test_string_reads_and_defaults() -> None:
    assert ENV.string("AGENT_NODE_NAME") == "node-a"
    assert ENV.string("MISSING", "fallback") == "fallback"
    assert ENV.string("EMPTY", "fallback") == "fallback"


@pytest.mark.parametrize(("name", "shown"), [("MISSING", "unset"), ("EMPTY", "''")])
def test_required_string_names_the_variable(name: str, shown: str) -> None:
    with pytest.raises(SettingsError) as caught:
        ENV.string(name)
    assert caught.value.name == name
    assert str(caught.value) == f"environment variable {name}: is required (it is {shown})"


def test_optional_and_path() -> None:
    assert ENV.optional("AGENT_NODE_NAME") == "node-a"
    assert ENV.optional("EMPTY") is None
    assert ENV.optional("MISSING") is None
    assert ENV.path("DISCOVERY_HANDLERS_DIRECTORY") == Path("/var/lib/akri")
    assert ENV.path("MISSING", "/tmp/x") == Path("/tmp/x")


@pytest.mark.parametrize(
    ("name", "default", "expected"),
    [
        ("YES", None, True),
        ("ON", None, True),
        ("ZERO", True, False),
        ("OFF", None, False),
        ("MISSING", True, True),
        ("EMPTY", False, False),
    ],
)
def test_boolean(name: str, default: bool | None, expected: bool) -> None:
    assert ENV.boolean(name, default) is expected


@pytest.mark.parametrize(
    ("name", "default", "message"),
    [
        ("MAYBE", False, "environment variable MAYBE: expected true or false (it is 'maybe')"),
        (
            "MISSING",
            None,
            "environment variable MISSING: is required (true or false) (it is unset)",
        ),
    ],
)
def test_boolean_errors(name: str, default: bool | None, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        ENV.boolean(name, default)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("name", "expected"), [("PORT", 8080), ("MISSING", 10000), ("EMPTY", 10000), ("ZERO", 0)]
)
def test_integer(name: str, expected: int) -> None:
    assert ENV.integer(name, 10000) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("WORDS", "expected a whole number"),
        ("NEGATIVE", "expected a number from 0 to 65535"),
        ("HUGE", "expected a number from 0 to 65535"),
    ],
)
def test_integer_errors(name: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        ENV.integer(name, 1)
    assert caught.value.name == name
    assert reason in str(caught.value)
    assert caught.value.__cause__ is None, "the message says it all; no chained traceback"


def test_integer_bounds_are_keyword_arguments() -> None:
    assert Environment({"N": "-5"}).integer("N", 0, minimum=-10, maximum=10) == -5
    with pytest.raises(SettingsError, match="from 1 to 3"):
        Environment({"N": "4"}).integer("N", 1, minimum=1, maximum=3)
