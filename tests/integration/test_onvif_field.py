"""ONVIF cameras as they are in the field: every quirk of the simulated camera, alone and combined.

One lab (a handler namespace and a camera namespace joined by a veth pair, created and deleted by
the test), one simulated camera per case, one handler, one ``Discover`` with a credential per
camera. Each camera is either listed with the right properties, or not listed with exactly the
one ``onvif_camera_not_listed`` line that says why (and the handler's log holds no password).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from akri_common.devices import Device
from akri_handler_sdk.testing import open_discover
from tests.integration.onvif_support.fixtures import handler_dir, lab
from tests.integration.onvif_support.lab import LabProcess, OnvifLab, SimulatedCamera

__all__ = ["handler_dir", "lab"]

pytestmark = pytest.mark.netns

USERNAME = "viewer"
PASSWORD = "field-Secret-42"
WRONG = "not-the-field-secret"
METRICS_PORT = 9464


@dataclass(frozen=True)
class Case:
    """A camera: its quirks, whether it needs a credential and which one the handler gets, and
    what the handler should make of it: ``full`` (IP and MAC from GetNetworkInterfaces),
    ``xaddr-ip`` (the IP of its XAddr, no MAC), or a not-listed reason."""

    name: str
    quirks: tuple[str, ...] = ()
    locked: bool = False
    given: str | None = PASSWORD
    clock_skew: float = 0.0
    digest_algorithm: str = "MD5"
    expect: str = "full"
    context: dict[str, str] = field(default_factory=dict)


CASES = (
    Case("bare ProbeMatch", quirks=("bare-probe-match",)),
    Case("SOAP 1.1, WS-Addressing 2005/08, uuid: upper-case, no Types", quirks=("soap11",)),
    Case("XAddrs: IPv4, IPv6 in brackets, a host name; answers twice", quirks=("multi-xaddrs",)),
    Case("authentication on every call", quirks=("auth-every-call",), locked=True),
    Case("HTTP Digest only (MD5)", quirks=("digest-only",), locked=True),
    Case("clock 1 hour ahead", locked=True, clock_skew=3600),
    Case("clock 1 hour behind", locked=True, clock_skew=-3600),
    Case("no GetNetworkInterfaces", quirks=("no-network-interfaces",), expect="xaddr-ip"),
    Case("no Media 2", quirks=("no-media2",), locked=True),
    Case(
        "Digest only (SHA-256) + auth on every call + no GetNetworkInterfaces",
        quirks=("digest-only", "auth-every-call", "no-network-interfaces"),
        locked=True,
        digest_algorithm="SHA-256",
        expect="xaddr-ip",
    ),
    Case(
        "auth on every call + clock 1 hour ahead (UsernameToken on the HTTP Date's clock)",
        quirks=("auth-every-call", "soap11"),
        locked=True,
        clock_skew=3600,
    ),
    Case(
        "auth on every call, no credential given",
        quirks=("auth-every-call",),
        locked=True,
        given=None,
        expect="not_authorized",
        context={"credential": "none"},
    ),
    Case(
        "Digest only + auth on every call, a wrong password",
        quirks=("digest-only", "auth-every-call"),
        locked=True,
        given=WRONG,
        expect="not_authorized",
        context={"credential": "uuid"},
    ),
)


def uuid_of(index: int) -> str:
    return f"f1e1d000-0000-4000-8000-{index:012x}"


def log_events(process: LabProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]


def properties_for(cameras: list[tuple[Case, SimulatedCamera]]) -> dict[str, bytes]:
    properties: dict[str, bytes] = {}
    for case, camera in cameras:
        if case.given is not None:
            key = camera.uuid.replace("-", "_")
            properties[f"username_{key}"] = USERNAME.encode()
            properties[f"password_{key}"] = case.given.encode()
    return properties


async def start_cameras(lab: OnvifLab) -> list[tuple[Case, SimulatedCamera]]:
    started = []
    for index, case in enumerate(CASES):
        camera = await lab.start_camera(
            uuid=uuid_of(index),
            mac=f"02:00:00:f1:00:{index:02x}",
            username=USERNAME if case.locked else None,
            password=PASSWORD,
            quirks=case.quirks,
            clock_skew=case.clock_skew,
            digest_algorithm=case.digest_algorithm,
        )
        started.append((case, camera))
    return started


def expected_properties(case: Case, camera: SimulatedCamera) -> dict[str, str]:
    expected = {"ONVIF_DEVICE_SERVICE_URL": camera.url, "ONVIF_DEVICE_UUID": camera.uuid}
    expected["ONVIF_DEVICE_IP_ADDRESS"] = camera.ip
    if case.expect == "full":
        expected["ONVIF_DEVICE_MAC_ADDRESS"] = camera.mac
    return expected


async def test_each_quirk_and_combination_is_listed_or_refused_with_one_line(
    lab: OnvifLab, handler_dir: Path
) -> None:
    cameras = await start_cameras(lab)
    handler = await lab.start_handler(handler_dir, LOG_LEVEL="info", METRICS_PORT=str(METRICS_PORT))
    await lab.wait_serving(handler, handler_dir)
    listed = [(case, camera) for case, camera in cameras if case.expect in ("full", "xaddr-ip")]
    wanted_uuids = {camera.uuid for _, camera in listed}

    def complete(devices: tuple[Device, ...]) -> bool:
        return {d.properties["ONVIF_DEVICE_UUID"] for d in devices} >= wanted_uuids

    async with open_discover(
        str(handler_dir / "onvif.sock"), "discoveryTimeoutSeconds: 1", properties_for(cameras)
    ) as stream:
        devices = await stream.wait_for(complete, within=20.0)

    by_uuid: dict[str, list[Device]] = {}
    for device in devices:
        by_uuid.setdefault(device.properties["ONVIF_DEVICE_UUID"], []).append(device)
    for case, camera in listed:
        assert (case.name, [dict(d.properties) for d in by_uuid.get(camera.uuid, [])]) == (
            case.name,
            [expected_properties(case, camera)],
        )
        assert by_uuid[camera.uuid][0].id == f"{camera.url}-{camera.uuid}"

    events = log_events(handler)
    not_listed = [e for e in events if e.get("event") == "onvif_camera_not_listed"]
    for case, camera in cameras:
        lines = [e for e in not_listed if e["uuid"] == camera.uuid and e["url"] == camera.url]
        if case.expect in ("full", "xaddr-ip"):
            assert (case.name, lines) == (case.name, [])
            continue
        assert camera.uuid not in by_uuid, case.name
        assert len(lines) == 1, (case.name, lines)
        (line,) = lines
        assert line["level"] == "info"
        assert line["reason"] == case.expect, (case.name, line)
        credential = case.context["credential"]
        assert line["credential"] == (camera.uuid if credential == "uuid" else credential)

    # The reasons are counted on /metrics.
    fetch = await lab.start(
        lab.handler_ns,
        "tests.integration.onvif_support.fetch",
        f"http://127.0.0.1:{METRICS_PORT}/metrics",
        name="metrics",
    )
    assert fetch.proc.stdout is not None
    metrics = (await fetch.proc.stdout.read()).decode()
    counted = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("akri_onvif_cameras_not_listed_total{")
    }
    assert counted["not_authorized"] == 2, metrics
    assert counted["unreachable"] == 2, metrics

    # The multi-URL camera: its other XAddrs were tried and each said why it is not listed.
    multi = next(camera for case, camera in cameras if "multi-xaddrs" in case.quirks)
    others = {e["url"]: e["reason"] for e in not_listed if e["uuid"] == multi.uuid}
    assert sorted(others.values()) == ["unreachable", "unreachable"], others
    assert all(url != multi.url for url in others)

    # A Configuration that keeps one MAC: the camera without GetNetworkInterfaces (no MAC known)
    # is dropped by that filter, and the line says so.
    no_mac = next(camera for case, camera in cameras if case.expect == "xaddr-ip")
    bare = cameras[0][1]
    mac_filter = f"macAddresses: {{action: Include, items: ['{bare.mac}']}}"
    async with open_discover(
        str(handler_dir / "onvif.sock"), mac_filter, properties_for(cameras)
    ) as filtered:
        kept = await filtered.next_list(within=20.0)
    assert {d.properties["ONVIF_DEVICE_UUID"] for d in kept} == {bare.uuid}
    (line,) = [
        e
        for e in log_events(handler)
        if e.get("event") == "onvif_camera_not_listed" and e["uuid"] == no_mac.uuid
    ]
    assert (line["reason"], line["filter"], line["url"]) == ("filtered", "macAddresses", no_mac.url)

    await lab.stop(handler)
    log = handler.log()
    assert PASSWORD not in log, "a credential reached the handler's log"
    assert WRONG not in log, "a credential reached the handler's log"


async def test_describe_media_puts_profiles_and_uris_without_credentials_in_properties(
    lab: OnvifLab, handler_dir: Path
) -> None:
    media2 = await lab.start_camera(uuid=uuid_of(100), mac="02:00:00:f1:01:00")
    media1 = await lab.start_camera(
        uuid=uuid_of(101),
        mac="02:00:00:f1:01:01",
        username=USERNAME,
        password=PASSWORD,
        quirks=("no-media2", "digest-only"),
    )
    await lab.wait_serving(await lab.start_handler(handler_dir), handler_dir)
    credential = {
        f"username_{media1.uuid.replace('-', '_')}": USERNAME.encode(),
        f"password_{media1.uuid.replace('-', '_')}": PASSWORD.encode(),
    }
    async with open_discover(
        str(handler_dir / "onvif.sock"), "describeMedia: true", credential
    ) as stream:
        devices = await stream.wait_for(lambda d: len(d) == 2, within=20.0)
    by_uuid = {d.properties["ONVIF_DEVICE_UUID"]: dict(d.properties) for d in devices}
    for camera, service in ((media2, "media2"), (media1, "media1")):
        properties = by_uuid[camera.uuid]
        media = {k: v for k, v in properties.items() if not k.startswith("ONVIF_DEVICE_")}
        assert media == {
            "ONVIF_MEDIA_SERVICE": service,
            "ONVIF_PROFILE_COUNT": "2",
            "ONVIF_PROFILE_0_TOKEN": "main",
            "ONVIF_PROFILE_0_NAME": "Main stream",
            "ONVIF_PROFILE_0_RESOLUTION": "1920x1080",
            "ONVIF_PROFILE_0_STREAM_URI": f"rtsp://{camera.ip}:554/stream/main",
            "ONVIF_PROFILE_0_SNAPSHOT_URI": f"http://{camera.ip}:8080/snapshot/main.jpg",
            "ONVIF_PROFILE_1_TOKEN": "sub",
            "ONVIF_PROFILE_1_NAME": "Sub stream",
            "ONVIF_PROFILE_1_RESOLUTION": "640x360",
            "ONVIF_PROFILE_1_STREAM_URI": f"http://{camera.ip}:8080/stream.mjpeg",
            "ONVIF_PROFILE_1_SNAPSHOT_URI": f"http://{camera.ip}:8080/snapshot/sub.jpg",
        }, service
        assert PASSWORD not in repr(properties)
