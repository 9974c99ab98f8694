"""Hostile cameras: the ONVIF handler stays responsive, bounded, and sends nothing where it must not.

In the camera namespace, beside one good camera (which needs a credential), a hostile peer
(``onvif_support/hostile.py``) answers every probe with endpoints whose device services reply with
XXE, entity expansion, endless and oversized bodies, a 100 KiB header line, non-ASCII digits in
the status code and in ``Content-Length``, an empty SOAP Body, a one-byte drip, garbage headers;
with XAddrs at loopback, ``localhost``, link-local (``169.254.169.254``) and unspecified
addresses, and 500 XAddrs in one datagram; with DTD datagrams; and it floods spoofed Hellos and a
spoofed Bye for the good camera. A trap listens on every address of the handler's namespace
(``169.254.169.254`` added to its loopback) for the connections the handler must never make.
The Discover carries a default credential, so any such connection would carry it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from akri_handler_sdk.testing import open_discover, wait_until
from tests.bench.figures import peak_rss_mib
from tests.integration.onvif_support.fixtures import handler_dir, lab
from tests.integration.onvif_support.hostile import MODES
from tests.integration.onvif_support.lab import LabProcess, OnvifLab

__all__ = ["handler_dir", "lab"]

pytestmark = pytest.mark.netns

GOOD_UUID = "600d0000-0000-4000-8000-000000000001"
GOOD_MAC = "02:00:00:60:0d:01"
USERNAME = "operator"
PASSWORD = "hostile-test-Secret"
TRAP_PORT = 18080
WINDOW = 1.0
CALL_TIMEOUT = 1.0
#: The memory the ONVIF handler is given (its container limit in the README).
MEMORY_LIMIT_MIB = 128


def log_events(process: LabProcess) -> list[dict[str, Any]]:
    """The handler's JSON log lines so far (a line still being written is left out)."""
    lines = process.log().split("\n")[:-1]
    return [json.loads(line) for line in lines if line.startswith("{")]


def uuids(devices: tuple[Any, ...]) -> set[str]:
    return {device.properties["ONVIF_DEVICE_UUID"] for device in devices}


async def test_hostile_cameras_leave_the_handler_responsive_bounded_and_silent(
    lab: OnvifLab, handler_dir: Path
) -> None:
    lab.add_address(lab.handler_ns, "169.254.169.254/32")
    trap, _ = await lab.start_ready(
        lab.handler_ns,
        "tests.integration.onvif_support.trap",
        "--port",
        str(TRAP_PORT),
        name="trap",
    )
    good = await lab.start_camera(
        uuid=GOOD_UUID, mac=GOOD_MAC, username=USERNAME, password=PASSWORD, hello=False
    )
    hostile_ip = lab.new_camera_address()
    hostile, ready = await lab.start_ready(
        lab.camera_ns,
        "tests.integration.onvif_support.hostile",
        "--ip",
        hostile_ip,
        "--trap-port",
        str(TRAP_PORT),
        "--good-uuid",
        GOOD_UUID,
        name="hostile",
    )
    hostile_urls = list(ready["urls"])  # type: ignore[call-overload]
    handler = await lab.start_handler(
        handler_dir,
        LOG_LEVEL="debug",
        ONVIF_PROBE_INTERVAL_SECONDS="1",
        ONVIF_CALL_TIMEOUT_SECONDS=str(CALL_TIMEOUT),
    )
    await lab.wait_serving(handler, handler_dir)
    credential = {"username_default": USERNAME.encode(), "password_default": PASSWORD.encode()}
    socket_path = str(handler_dir / "onvif.sock")
    details = f"discoveryTimeoutSeconds: {WINDOW}"

    async with open_discover(socket_path, details, credential) as stream:
        # The first list comes after the probe window and a bounded description time, and holds
        # the good camera, described, and nothing of the hostile peer's.
        first = await stream.next_list(within=WINDOW + 4 * CALL_TIMEOUT + 3.0)
        assert uuids(first) == {GOOD_UUID}
        (device,) = first
        assert device.properties["ONVIF_DEVICE_MAC_ADDRESS"] == GOOD_MAC

        def rounds() -> int:
            return sum(1 for e in log_events(handler) if e.get("event") == "onvif_probe_sent")

        # Several more rounds under the flood: another Discover is still answered at once.
        start_rounds = rounds()
        await wait_until(lambda: rounds() >= start_rounds + 4, within=30.0, what="4 rounds")
        # One Discover's log over several rounds: each hostile reply was logged once.
        one_stream = log_events(handler)
        async with open_discover(socket_path, details, credential) as second:
            again = await second.next_list(within=WINDOW + 4 * CALL_TIMEOUT + 3.0)
        assert uuids(again) == {GOOD_UUID}
        peak = peak_rss_mib(handler.proc.pid)

    # The spoofed Bye was not believed: the good camera never left the list.
    events = log_events(handler)
    assert not [e for e in events if e.get("event") == "onvif_bye"]

    await lab.stop(hostile)
    assert hostile.proc.stdout is not None
    asked = json.loads((await hostile.proc.stdout.read()).decode().strip().splitlines()[-1])
    # Every bad server was asked again in later rounds (a failure is retried, not forgotten).
    assert all(asked["requests"].get(mode, 0) >= 2 for mode in MODES), asked
    # Not one of them, none an ONVIF device, was sent a credential.
    assert asked["requests"].get("credentials", 0) == 0, asked
    assert await lab.stop(handler) == 0
    await lab.stop(trap)
    await lab.stop(good.process)

    # No connection to a refused address (nor an XXE fetch), so no credential left for one.
    assert trap.proc.stdout is not None
    caught = (await trap.proc.stdout.read()).decode()
    assert "connection" not in caught, caught

    # Every hostile reply is logged once, with its URL, and the handler never crashed a task.
    log = handler.log()
    assert "Task exception was never retrieved" not in log
    assert "Traceback" not in log
    assert PASSWORD not in log
    not_listed = [e for e in one_stream if e.get("event") == "onvif_camera_not_listed"]
    for url in hostile_urls:  # the peer's own endpoints (the spoofed Hellos share the drip URL)
        lines = [e for e in not_listed if e["url"] == url and e["uuid"].startswith("0bad")]
        assert len(lines) == 1, (url, lines)
    failed = [e for e in one_stream if e.get("event") == "onvif_call_failed"]
    for url in hostile_urls:
        assert len([e for e in failed if e["url"] == url and e["uuid"].startswith("0bad")]) <= 1
    refused = {e["url"] for e in not_listed if e["reason"] == "refused_address"}
    assert {u for u in refused if "127.0.0.1" in u or "169.254" in u or "0.0.0.0" in u}
    assert peak <= MEMORY_LIMIT_MIB, f"handler peak RSS {peak:.0f} MiB"
    print(f"\nONVIF handler among hostile cameras: peak RSS {peak:.1f} MiB")
