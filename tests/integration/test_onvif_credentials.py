"""A camera that needs a password, with credentials in each of upstream's four forms.

With the right credential the handler learns the camera's IP and MAC (GetNetworkInterfaces with a
WS-Security UsernameToken digest); with a wrong or missing one the camera is still listed, without
them, as upstream does. No log line of the handler contains the password.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from akri_common.devices import Device
from akri_handler_sdk.testing import open_discover
from tests.integration.onvif_support.fixtures import handler_dir, lab
from tests.integration.onvif_support.lab import OnvifLab

__all__ = ["handler_dir", "lab"]

pytestmark = pytest.mark.netns

UUID = "5a6b7c8d-0000-4000-8000-0000000000aa"
MAC = "02:00:00:00:00:aa"
USERNAME = "operator"
PASSWORD = "Tr0ub4dor&3-onvif"
WRONG = "not-the-password"
UNDERSCORED = UUID.replace("-", "_")


def credential_forms() -> dict[str, dict[str, str]]:
    entry = {UUID: {"username": USERNAME, "password": PASSWORD}}
    encoded = {
        UUID: {
            "username": USERNAME,
            "password": base64.b64encode(PASSWORD.encode()).decode(),
            "base64encoded": True,
        }
    }
    refs = {UUID: {"username_ref": "cam_user", "password_ref": "cam_pass"}}
    return {
        "credential list": {
            "device_credential_list": json.dumps(["cameras_a", "cameras_b"]),
            "cameras_a": json.dumps({"some-other-uuid": {"username": "x", "password": "y"}}),
            "cameras_b": json.dumps(entry),
        },
        "credential list, base64": {
            "device_credential_list": json.dumps(["cameras"]),
            "cameras": json.dumps(encoded),
        },
        "credential reference list": {
            "device_credential_ref_list": json.dumps(["camera_refs"]),
            "camera_refs": json.dumps(refs),
            "cam_user": USERNAME,
            "cam_pass": PASSWORD,
        },
        "per-uuid pair": {f"username_{UNDERSCORED}": USERNAME, f"password_{UNDERSCORED}": PASSWORD},
        "default": {"username_default": USERNAME, "password_default": PASSWORD},
        "per-uuid pair overrides a wrong default": {
            "username_default": USERNAME,
            "password_default": WRONG,
            f"username_{UNDERSCORED}": USERNAME,
            f"password_{UNDERSCORED}": PASSWORD,
        },
    }


NOT_AUTHORIZED = {
    "wrong password": {"username_default": USERNAME, "password_default": WRONG},
    "wrong username": {f"username_{UNDERSCORED}": "admin", f"password_{UNDERSCORED}": PASSWORD},
    "no credential": {},
    "a credential for another camera": {
        "username_0000aaaa_0000_4000_8000_000000000000": USERNAME,
        "password_0000aaaa_0000_4000_8000_000000000000": PASSWORD,
    },
}


async def test_a_password_camera_with_each_credential_form(
    lab: OnvifLab, handler_dir: Path
) -> None:
    camera = await lab.start_camera(uuid=UUID, mac=MAC, username=USERNAME, password=PASSWORD)
    handler = await lab.start_handler(handler_dir)
    await lab.wait_serving(handler, handler_dir)

    async def first_device(properties: dict[str, str]) -> Device:
        encoded = {name: value.encode() for name, value in properties.items()}
        async with open_discover(str(handler_dir / "onvif.sock"), "", encoded) as stream:
            (device,) = await stream.next_list(within=10.0)
            return device

    forms = credential_forms()
    cases = {**forms, **NOT_AUTHORIZED}
    devices = dict(
        zip(
            cases,
            await asyncio.gather(*(first_device(props) for props in cases.values())),
            strict=True,
        )
    )
    described = {
        "ONVIF_DEVICE_SERVICE_URL": camera.url,
        "ONVIF_DEVICE_UUID": UUID,
        "ONVIF_DEVICE_IP_ADDRESS": camera.ip,
        "ONVIF_DEVICE_MAC_ADDRESS": MAC,
    }
    bare = {"ONVIF_DEVICE_SERVICE_URL": camera.url, "ONVIF_DEVICE_UUID": UUID}
    for form, device in devices.items():
        expected = described if form in forms else bare
        assert (form, dict(device.properties)) == (form, expected)
        assert device.id == f"{camera.url}-{UUID}"
        assert PASSWORD not in repr(device)

    await lab.stop(handler)
    log = handler.log()
    assert "onvif_camera_described" in log
    assert '"kind": "not_authorized"' in log
    for secret in (PASSWORD, base64.b64encode(PASSWORD.encode()).decode(), WRONG):
        assert secret not in log, "a credential reached the handler's log"
