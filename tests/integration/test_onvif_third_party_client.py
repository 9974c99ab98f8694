"""The simulated camera, checked by an ONVIF client we did not write: ``onvif-zeep-async``.

So that the simulator's answers (and with them what the handler's tests prove) are checked by a
third party and not only by our own parser: the widely used client finds its services through
``GetServices``, signs with a UsernameToken on the camera's clock or answers its HTTP Digest
challenge, and reads its clock, network interfaces and media profiles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.onvif_support.fixtures import lab
from tests.integration.onvif_support.lab import OnvifLab

__all__ = ["lab"]

pytestmark = pytest.mark.netns

USERNAME = "admin"
PASSWORD = "third-Party-42"

CASES: dict[str, dict[str, Any]] = {
    "open": {"quirks": ()},
    "auth on every call (UsernameToken)": {"quirks": ("auth-every-call",), "username": USERNAME},
    "clock 1 hour ahead (UsernameToken on the camera's clock)": {
        "quirks": (),
        "username": USERNAME,
        "clock_skew": 3600.0,
    },
    "no Media 2": {"quirks": ("no-media2",), "username": USERNAME},
}
DIGEST_CASES: dict[str, dict[str, Any]] = {
    "HTTP Digest only (SHA-256), auth on every call": {
        "quirks": ("digest-only", "auth-every-call"),
        "digest_algorithm": "SHA-256",
    },
    "HTTP Digest only (MD5)": {"quirks": ("digest-only",)},
}


@pytest.mark.parametrize("case", list(CASES))
async def test_onvif_zeep_async_understands_the_simulated_camera(
    lab: OnvifLab, case: str, tmp_path: Path
) -> None:
    spec = dict(CASES[case])
    username = spec.pop("username", None)
    camera = await lab.start_camera(
        uuid="3e000000-0000-4000-8000-000000000001",
        mac="02:00:00:3e:00:01",
        username=username,
        password=PASSWORD,
        **spec,
    )
    args = ["--host", camera.ip, "--port", "8080"]
    if username is not None:
        args += ["--user", str(username), "--password", PASSWORD]
    client = await lab.start(
        lab.handler_ns,
        "tests.integration.onvif_support.third_party_client",
        *args,
        name="onvif-zeep-async",
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},  # zeep's WSDL cache, removed with it
    )
    assert client.proc.stdout is not None
    output = await client.proc.stdout.read()
    await client.proc.wait()
    result = json.loads(output.decode().strip().splitlines()[-1])
    assert "error" not in result, (result, client.log()[-3000:])
    credential = f"{USERNAME}:{PASSWORD}@" if username else ""
    assert result["mac"] == camera.mac
    assert result["ip"] == camera.ip
    assert result["profiles"] == [
        {"token": "main", "name": "Main stream", "width": 1920, "height": 1080},
        {"token": "sub", "name": "Sub stream", "width": 640, "height": 360},
    ]
    assert result["streams"] == {
        "main": f"rtsp://{credential}{camera.ip}:554/stream/main",
        "sub": f"http://{credential}{camera.ip}:8080/stream.mjpeg",
    }
    assert result["snapshots"] == {
        token: f"http://{camera.ip}:8080/snapshot/{token}.jpg" for token in ("main", "sub")
    }


@pytest.mark.parametrize("case", list(DIGEST_CASES))
async def test_httpx_digest_auth_understands_the_simulated_digest_camera(
    lab: OnvifLab, case: str
) -> None:
    camera = await lab.start_camera(
        uuid="3e000000-0000-4000-8000-000000000002",
        mac="02:00:00:3e:00:02",
        username=USERNAME,
        password=PASSWORD,
        **DIGEST_CASES[case],
    )
    args = ["--host", camera.ip, "--user", USERNAME, "--password", PASSWORD, "--http-digest"]
    client = await lab.start(
        lab.handler_ns,
        "tests.integration.onvif_support.third_party_client",
        *args,
        name="httpx-digest",
    )
    assert client.proc.stdout is not None
    output = await client.proc.stdout.read()
    await client.proc.wait()
    result = json.loads(output.decode().strip().splitlines()[-1])
    assert "error" not in result, (result, client.log()[-3000:])
    assert (result["mac"], result["ip"]) == (camera.mac, camera.ip)
