"""OPC UA ``discoveryDetails`` parsing: upstream's shape, defaults, and errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from akri_common.crds.configuration import parse_configuration
from akri_handler_sdk import InvalidDetailsError
from akri_opcua.details import (
    DEFAULT_DISCOVERY_URL,
    FilterAction,
    FilterList,
    OpcuaDetails,
    parse_details,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", OpcuaDetails()),
        ("opcuaDiscoveryMethod: {standard: {}}", OpcuaDetails()),
        (
            "opcuaDiscoveryMethod:\n  standard:\n    discoveryUrls: ['opc.tcp://lds:4840/']\n",
            OpcuaDetails(discovery_urls=("opc.tcp://lds:4840/",)),
        ),
        (
            '{"opcuaDiscoveryMethod": {"standard": {"discoveryUrls": '
            '["opc.tcp://10.0.0.1:4840", "opc.tcp://[fd00::1]:4841/UA/x"]}}}',
            OpcuaDetails(
                discovery_urls=("opc.tcp://10.0.0.1:4840", "opc.tcp://[fd00::1]:4841/UA/x")
            ),
        ),
        (
            "applicationNames: {action: Exclude, items: [a, b]}",
            OpcuaDetails(
                application_names=FilterList(items=("a", "b"), action=FilterAction.EXCLUDE)
            ),
        ),
        ("applicationNames: {items: [a]}", OpcuaDetails(application_names=FilterList(("a",)))),
        ("applicationNames: {items: null}", OpcuaDetails(application_names=FilterList(()))),
    ],
)
def test_parses(text: str, expected: OpcuaDetails) -> None:
    assert parse_details(text) == expected
    assert DEFAULT_DISCOVERY_URL in OpcuaDetails().discovery_urls


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("[1, 2]", "discoveryDetails", "expected a mapping"),
        ("opcuaDiscoveryMethod: 5", "opcuaDiscoveryMethod", "expected a mapping"),
        ("opcuaDiscoveryMethod: {reverse: {}}", "opcuaDiscoveryMethod", "unknown method 'reverse'"),
        ("opcuaDiscoveryMethod: {standard: [1]}", "opcuaDiscoveryMethod.standard", "mapping"),
        (
            "opcuaDiscoveryMethod: {standard: {discoveryUrls: opc.tcp://a:1}}",
            "opcuaDiscoveryMethod.standard.discoveryUrls",
            "expected a list",
        ),
        (
            "opcuaDiscoveryMethod: {standard: {discoveryUrls: []}}",
            "opcuaDiscoveryMethod.standard.discoveryUrls",
            "at least one",
        ),
        (
            "opcuaDiscoveryMethod: {standard: {discoveryUrls: ['opc.tcp://host/']}}",
            "opcuaDiscoveryMethod.standard.discoveryUrls[0]",
            "has no port",
        ),
        (
            "opcuaDiscoveryMethod: {standard: {discoveryUrls: ['opc.tcp://a:1', 'https://a:1']}}",
            "opcuaDiscoveryMethod.standard.discoveryUrls[1]",
            "does not start with opc.tcp://",
        ),
        (
            "opcuaDiscoveryMethod: {standard: {discoveryUrls: ['opc.tcp://:4840']}}",
            "opcuaDiscoveryMethod.standard.discoveryUrls[0]",
            "has no host",
        ),
        (
            "opcuaDiscoveryMethod: {standard: {discoveryUrls: ['opc.tcp://a:99999']}}",
            "opcuaDiscoveryMethod.standard.discoveryUrls[0]",
            "is not a URL",
        ),
        (
            "opcuaDiscoveryMethod: {standard: {discoveryUrls: [4840]}}",
            "opcuaDiscoveryMethod.standard.discoveryUrls[0]",
            "expected a string",
        ),
        ("applicationNames: [a]", "applicationNames", "expected a mapping"),
        ("applicationNames: {items: [1]}", "applicationNames.items", "list of strings"),
        ("applicationNames: {action: Drop}", "applicationNames.action", "Include or Exclude"),
    ],
)
def test_rejects_naming_the_field(text: str, field: str, reason: str) -> None:
    with pytest.raises(InvalidDetailsError) as caught:
        parse_details(text)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    url = "http://" + "x" * 500 + ":1/"
    with pytest.raises(InvalidDetailsError) as caught:
        parse_details(f"opcuaDiscoveryMethod: {{standard: {{discoveryUrls: ['{url}']}}}}")
    assert len(str(caught.value)) < 200


def test_the_example_configuration_parses() -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "opcua-configuration.yaml"
    configuration = parse_configuration(yaml.safe_load(path.read_text()))
    assert configuration.discovery_handler.name == "opcua"
    details = parse_details(configuration.discovery_handler.discovery_details)
    assert details.discovery_urls == ("opc.tcp://opcua-lds.factory.svc:4840/",)
