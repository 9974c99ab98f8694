"""The ONVIF handler's identity and settings from the environment."""

from __future__ import annotations

import pytest

from akri_common.settings import SettingsError
from akri_onvif import OnvifHandler, OnvifSettings


def test_registers_as_shared_onvif() -> None:
    handler = OnvifHandler()
    assert (handler.name, handler.shared) == ("onvif", True)
    request = handler.parse_details("uuids: {items: [a]}", {"username_default": b"u"})
    assert request.credentials.for_uuid("anything") is not None
    assert request.credentials.name_for("ANYTHING") == "default"
    assert not request.details.describe_media
    assert handler.parse_details("describeMedia: true", {}).details.describe_media


def test_settings() -> None:
    assert OnvifSettings.from_environment({}) == OnvifSettings(10.0, 1.0, 32)
    assert OnvifSettings.from_environment(
        {
            "ONVIF_PROBE_INTERVAL_SECONDS": "2.5",
            "ONVIF_CALL_TIMEOUT_SECONDS": "3",
            "ONVIF_MAX_CONCURRENT_CALLS": "8",
        }
    ) == OnvifSettings(2.5, 3.0, 8)
    assert OnvifSettings.from_environment(
        {"ONVIF_ALLOW_LOCAL_XADDRS": "true", "METRICS_PORT": "9464"}
    ) == OnvifSettings(allow_local_xaddrs=True, metrics_port=9464)
    assert not OnvifSettings().allow_local_xaddrs


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ONVIF_PROBE_INTERVAL_SECONDS", "often"),
        ("ONVIF_PROBE_INTERVAL_SECONDS", "0"),
        ("ONVIF_CALL_TIMEOUT_SECONDS", "999"),
        ("ONVIF_MAX_CONCURRENT_CALLS", "0"),
        ("ONVIF_ALLOW_LOCAL_XADDRS", "maybe"),
        ("METRICS_PORT", "70000"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        OnvifSettings.from_environment({name: value})
    assert caught.value.name == name
