"""Settings of the OPC UA handler and of the sample broker, and the broker's pure decisions."""

from __future__ import annotations

import pytest

from akri_common.settings import SettingsError
from akri_opcua.settings import OpcuaSettings
from akri_opcua_broker.settings import BrokerSettings
from akri_opcua_broker.values import Int32Error, as_int32, discovery_url, node_id_text


def test_handler_defaults_and_overrides() -> None:
    assert OpcuaSettings.from_environment({}) == OpcuaSettings()
    assert OpcuaSettings().refresh_interval_seconds == 1.0
    settings = OpcuaSettings.from_environment(
        {"OPCUA_REFRESH_INTERVAL_SECONDS": "0.25", "OPCUA_CALL_TIMEOUT_SECONDS": "3"}
    )
    assert settings.refresh_interval_seconds == 0.25
    assert settings.call_timeout_seconds == 3.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OPCUA_REFRESH_INTERVAL_SECONDS", "soon"),
        ("OPCUA_REFRESH_INTERVAL_SECONDS", "0"),
        ("OPCUA_CALL_TIMEOUT_SECONDS", "600"),
        ("OPCUA_MAX_CONCURRENT_CALLS", "0"),
    ],
)
def test_handler_rejects_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        OpcuaSettings.from_environment({name: value})
    assert caught.value.name == name


def test_broker_reads_upstreams_variables() -> None:
    settings = BrokerSettings.from_environment(
        {
            "OPCUA_DISCOVERY_URL_8120FE": "opc.tcp://plc:4840/",
            "IDENTIFIER": "Thermometer_Temperature",
            "NAMESPACE_INDEX": "3",
        }
    )
    assert settings.server_url == "opc.tcp://plc:4840/"
    assert settings.node_id == "ns=3;s=Thermometer_Temperature"
    assert settings.port == 8083


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"IDENTIFIER": "x"}, "OPCUA_DISCOVERY_URL"),
        ({"OPCUA_DISCOVERY_URL": "http://plc:80/", "IDENTIFIER": "x"}, "OPCUA_DISCOVERY_URL"),
        ({"OPCUA_DISCOVERY_URL": "opc.tcp://plc/", "IDENTIFIER": "x"}, "OPCUA_DISCOVERY_URL"),
        ({"OPCUA_DISCOVERY_URL": "opc.tcp://plc:1/"}, "IDENTIFIER"),
        (
            {"OPCUA_DISCOVERY_URL": "opc.tcp://plc:1/", "IDENTIFIER": "x", "NAMESPACE_INDEX": "a"},
            "NAMESPACE_INDEX",
        ),
    ],
)
def test_broker_rejects_naming_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError) as caught:
        BrokerSettings.from_environment(env)
    assert caught.value.name == name


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"OPCUA_DISCOVERY_URL": "a", "OPCUA_DISCOVERY_URL_AAAAAA": "b"}, "a"),
        ({"OPCUA_DISCOVERY_URL_BBBBBB": "b", "OPCUA_DISCOVERY_URL_AAAAAA": "a"}, "a"),
        ({}, None),
    ],
)
def test_discovery_url_prefers_the_plain_name(env: dict[str, str], url: str | None) -> None:
    assert discovery_url(env) == url


def test_node_id_text() -> None:
    assert node_id_text(2, "FastUInt1") == "ns=2;s=FastUInt1"
    assert node_id_text(0, "2258") == "ns=0;i=2258"


@pytest.mark.parametrize(
    ("value", "number"), [(5, 5), (True, 1), (2.6, 3), (-2.5, -2), (-(2**31), -(2**31))]
)
def test_as_int32(value: object, number: int) -> None:
    assert as_int32(value) == number


@pytest.mark.parametrize("value", ["7", None, float("nan"), 2**31, [1]])
def test_as_int32_rejects(value: object) -> None:
    with pytest.raises(Int32Error):
        as_int32(value)
