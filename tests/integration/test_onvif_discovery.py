"""The ONVIF handler as a process in a network namespace, finding simulated cameras in another.

Real WS-Discovery multicast over a veth pair between namespaces this test creates, real SOAP over
HTTP, real gRPC over the handler's Unix socket; no traffic in the root namespace.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import pytest

from akri_common.devices import Device
from akri_handler_sdk.testing import DiscoverStream, open_discover, wait_until
from tests.integration.onvif_support.fixtures import handler_dir, lab
from tests.integration.onvif_support.lab import LabProcess, OnvifLab

__all__ = ["handler_dir", "lab"]

pytestmark = pytest.mark.netns

UUIDS = (
    "1f2c3d4e-0000-4000-8000-00000000000a",
    "1f2c3d4e-0000-4000-8000-00000000000b",
    "1f2c3d4e-0000-4000-8000-00000000000c",
)
MACS = ("02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c")


async def serving_handler(lab: OnvifLab, directory: Path, **env: str) -> LabProcess:
    handler = await lab.start_handler(directory, **env)
    await lab.wait_serving(handler, directory)
    return handler


def discover(directory: Path, details: str = "", **properties: str) -> DiscoverStream:
    return open_discover(
        str(directory / "onvif.sock"),
        details,
        {name: value.encode() for name, value in properties.items()},
    )


def ids(devices: tuple[Device, ...]) -> set[str]:
    return {device.properties["ONVIF_DEVICE_UUID"] for device in devices}


def log_events(process: LabProcess) -> list[dict[str, object]]:
    events = []
    for line in process.log().splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


async def test_one_camera_is_found_with_ip_mac_uuid_and_service_url(
    lab: OnvifLab, handler_dir: Path
) -> None:
    camera = await lab.start_camera(uuid=UUIDS[0], mac=MACS[0])
    await serving_handler(lab, handler_dir)
    async with discover(handler_dir, "discoveryTimeoutSeconds: 1") as stream:
        devices = await stream.wait_for(lambda d: len(d) == 1, within=10.0)
    (device,) = devices
    assert device == Device(
        id=f"{camera.url}-{camera.uuid}",
        properties={
            "ONVIF_DEVICE_SERVICE_URL": camera.url,
            "ONVIF_DEVICE_UUID": camera.uuid,
            "ONVIF_DEVICE_IP_ADDRESS": camera.ip,
            "ONVIF_DEVICE_MAC_ADDRESS": camera.mac,
        },
    )


LOBBY = "onvif://www.onvif.org/location/lobby"


async def test_filters_include_exclude_and_the_unknown_value_rule(
    lab: OnvifLab, handler_dir: Path
) -> None:
    a, b, c = [
        await lab.start_camera(uuid=UUIDS[i], mac=MACS[i], scopes=scopes)
        for i, scopes in enumerate(
            [
                ("onvif://www.onvif.org/name/a", LOBBY),
                ("onvif://www.onvif.org/name/b", LOBBY),
                ("onvif://www.onvif.org/name/c",),
            ]
        )
    ]
    # A camera that needs a password nobody gives: listed, but its IP and MAC stay unknown.
    locked = await lab.start_camera(
        uuid="1f2c3d4e-0000-4000-8000-00000000000d",
        mac="02:00:00:00:00:0d",
        username="admin",
        password="unknown-to-the-handler",
    )
    await serving_handler(lab, handler_dir)
    everyone = {a.uuid, b.uuid, c.uuid, locked.uuid}
    cases: list[tuple[str, set[str]]] = [
        ("", everyone),
        (f"ipAddresses: {{action: Include, items: [{a.ip}]}}", {a.uuid}),
        (f"ipAddresses: {{action: Exclude, items: [{a.ip}]}}", {b.uuid, c.uuid}),
        (f"macAddresses: {{action: Include, items: ['{b.mac.upper()}']}}", {b.uuid}),
        (f"macAddresses: {{action: Exclude, items: ['{b.mac}']}}", {a.uuid, c.uuid}),
        (f"scopes: {{action: Include, items: ['{LOBBY}']}}", {a.uuid, b.uuid}),
        (f"scopes: {{action: Exclude, items: ['{LOBBY}']}}", {c.uuid, locked.uuid}),
        (f"uuids: {{action: Include, items: [{c.uuid.upper()}]}}", {c.uuid}),
        (f"uuids: {{action: Exclude, items: [{c.uuid}]}}", {a.uuid, b.uuid, locked.uuid}),
        ("ipAddresses: {action: Include, items: []}", set()),
        ("macAddresses: {action: Exclude, items: []}", everyone),
        (f"ipAddresses: {{items: [{a.ip}, {b.ip}]}}", {a.uuid, b.uuid}),
    ]

    async def first_list(details: str) -> set[str]:
        async with discover(handler_dir, details) as stream:
            return ids(await stream.next_list(within=10.0))

    # Every Configuration opens its own Discover stream; all run at once against one handler.
    results = await asyncio.gather(*(first_list(details) for details, _ in cases))
    assert dict(zip([d for d, _ in cases], results, strict=True)) == dict(cases)


async def test_hello_shows_a_camera_within_1s_and_bye_removes_it_within_2s(
    lab: OnvifLab, handler_dir: Path
) -> None:
    first = await lab.start_camera(uuid=UUIDS[0], mac=MACS[0])
    # Probes every 60 s: only the announcements can explain a change within seconds.
    await serving_handler(lab, handler_dir, ONVIF_PROBE_INTERVAL_SECONDS="60")
    async with discover(handler_dir) as stream:
        await stream.wait_for(lambda d: ids(d) == {first.uuid}, within=10.0)
        second = await lab.start_camera(uuid=UUIDS[1], mac=MACS[1])  # says Hello once ready
        hello_at = time.monotonic()
        devices = await stream.wait_for(lambda d: ids(d) == {first.uuid, second.uuid}, within=1.0)
        assert time.monotonic() - hello_at < 1.0
        assert {d.properties.get("ONVIF_DEVICE_IP_ADDRESS") for d in devices} == {
            first.ip,
            second.ip,
        }
        await lab.stop(second.process)  # SIGTERM: the camera says Bye
        await stream.wait_for(lambda d: ids(d) == {first.uuid}, within=2.0)


async def test_a_camera_that_stops_answering_disappears_at_the_next_probe(
    lab: OnvifLab, handler_dir: Path
) -> None:
    staying = await lab.start_camera(uuid=UUIDS[0], mac=MACS[0])
    leaving = await lab.start_camera(uuid=UUIDS[1], mac=MACS[1])
    await serving_handler(lab, handler_dir, ONVIF_PROBE_INTERVAL_SECONDS="2")
    async with discover(handler_dir, "discoveryTimeoutSeconds: 0.5") as stream:
        await stream.wait_for(lambda d: ids(d) == {staying.uuid, leaving.uuid}, within=10.0)
        await lab.stop(leaving.process, sig=signal.SIGKILL)  # no Bye
        # The next probe round starts within 2 s and ends 0.5 s later.
        await stream.wait_for(lambda d: ids(d) == {staying.uuid}, within=2.5 + 0.5)


async def test_malformed_xml_or_a_soap_fault_skips_the_camera_with_one_warning(
    lab: OnvifLab, handler_dir: Path
) -> None:
    good = await lab.start_camera(uuid=UUIDS[0], mac=MACS[0])
    malformed = await lab.start_camera(uuid=UUIDS[1], mac=MACS[1], mode="malformed")
    faulty = await lab.start_camera(uuid=UUIDS[2], mac=MACS[2], mode="fault")
    handler = await serving_handler(lab, handler_dir, ONVIF_PROBE_INTERVAL_SECONDS="0.5")
    async with discover(handler_dir, "discoveryTimeoutSeconds: 0.3") as stream:
        devices = await stream.wait_for(lambda d: len(d) > 0, within=10.0)
        assert ids(devices) == {good.uuid}

        def rounds() -> int:
            return sum(1 for e in log_events(handler) if e.get("event") == "onvif_probe_sent")

        await wait_until(lambda: rounds() >= 4, within=10.0, what="four probe rounds")
    warnings = [e for e in log_events(handler) if e.get("level") == "warning"]
    by_url = {str(e["url"]): e for e in warnings if e.get("event") == "onvif_call_failed"}
    assert sorted(str(e["url"]) for e in warnings) == sorted([malformed.url, faulty.url])
    assert by_url[malformed.url]["kind"] == "malformed"
    assert by_url[faulty.url]["kind"] == "fault"
