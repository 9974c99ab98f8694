"""Parsing ONVIF discoveryDetails: defaults, filter lists, and errors naming the field."""

from __future__ import annotations

import pytest

from akri_handler_sdk import InvalidDetailsError
from akri_onvif.details import FilterAction, FilterList, OnvifDetails, parse_details


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", OnvifDetails()),
        ("{}", OnvifDetails()),
        ("discoveryTimeoutSeconds: 3", OnvifDetails(discovery_timeout_seconds=3.0)),
        (
            "ipAddresses: {items: [10.0.0.1]}",
            OnvifDetails(ip_addresses=FilterList(items=("10.0.0.1",))),
        ),
        (
            "macAddresses: {action: Exclude, items: []}",
            OnvifDetails(mac_addresses=FilterList(items=(), action=FilterAction.EXCLUDE)),
        ),
        (
            '{"scopes": {"action": "Include", "items": ["a", "b"]}, "uuids": {"action": "Exclude"}}',
            OnvifDetails(
                scopes=FilterList(items=("a", "b")),
                uuids=FilterList(items=(), action=FilterAction.EXCLUDE),
            ),
        ),
        ("ipAddresses:\nuuids: {items: null}", OnvifDetails(uuids=FilterList(items=()))),
        ("describeMedia: true", OnvifDetails(describe_media=True)),
        ("describeMedia: false", OnvifDetails()),
    ],
)
def test_parses(text: str, expected: OnvifDetails) -> None:
    assert parse_details(text) == expected


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[1, 2]", "discoveryDetails"),
        ("ipAddresses: [10.0.0.1]", "ipAddresses"),
        ("ipAddresses: {items: 10.0.0.1}", "ipAddresses.items"),
        ("scopes: {action: include, items: []}", "scopes.action"),
        ("discoveryTimeoutSeconds: soon", "discoveryTimeoutSeconds"),
        ("discoveryTimeoutSeconds: 0", "discoveryTimeoutSeconds"),
        ("discoveryTimeoutSeconds: true", "discoveryTimeoutSeconds"),
        ("ipAddresses: {items: [", "discoveryDetails"),
        ("describeMedia: yes please", "describeMedia"),
        ("describeMedia: 1", "describeMedia"),
    ],
)
def test_errors_name_the_field(text: str, field: str) -> None:
    with pytest.raises(InvalidDetailsError) as caught:
        parse_details(text)
    assert caught.value.field == field
