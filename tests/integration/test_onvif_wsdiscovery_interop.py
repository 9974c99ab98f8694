"""Our WS-Discovery against an independent implementation: the ``wsdiscovery`` package.

A camera whose device service is the simulated one (``--no-discovery``: it does no WS-Discovery of
its own) is announced by ``wsdiscovery.publishing.ThreadedWSPublishing`` in the camera namespace;
our handler runs in the handler namespace. Both directions are checked over real multicast on the
lab's veth pair: the publisher's Hello, ProbeMatches and Bye are read by our parser, and our Probe
is understood (and answered) by the publisher. Two message-level checks do the same without a
network: each side parses the other's datagrams.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from wsdiscovery.actions import constructBye, constructHello, constructProbeMatch
from wsdiscovery.message import createSOAPMessage, parseSOAPMessage
from wsdiscovery.namespaces import NS_ACTION_PROBE
from wsdiscovery.qname import QName
from wsdiscovery.scope import Scope
from wsdiscovery.service import Service

from akri_common.devices import Device
from akri_handler_sdk.testing import DiscoverStream, open_discover
from akri_onvif.messages import (
    ONVIF_NETWORK,
    Bye,
    Endpoint,
    Hello,
    ProbeMatches,
    build_probe,
    parse_message,
)
from tests.integration.onvif_support.fixtures import handler_dir, lab
from tests.integration.onvif_support.lab import LabProcess, OnvifLab, SimulatedCamera

__all__ = ["handler_dir", "lab"]

pytestmark = pytest.mark.netns

UUID = "5e1f0a2b-0000-4000-8000-0000000000e1"
MAC = "02:00:00:00:00:e1"
SCOPES = ("onvif://www.onvif.org/type/video_encoder", "onvif://www.onvif.org/location/gate")


def published_service(xaddr: str) -> Service:
    return Service(
        [QName(ONVIF_NETWORK, "NetworkVideoTransmitter", "dn")],
        [Scope(scope) for scope in SCOPES],
        [xaddr],
        f"urn:uuid:{UUID}",
        "1",
    )


def test_our_probe_is_understood_by_wsdiscovery() -> None:
    message_id, datagram = build_probe()
    env = parseSOAPMessage(datagram, "10.0.0.1")
    assert env is not None
    assert env.getAction() == NS_ACTION_PROBE
    assert env.getMessageId() == message_id
    (probe_type,) = env.getTypes()
    # The prefix resolves to the ONVIF namespace: the publisher matches types by full name.
    assert probe_type.getFullname() == f"{ONVIF_NETWORK}:NetworkVideoTransmitter"
    assert env.getScopes() == []


def test_wsdiscovery_messages_are_understood_by_our_parser() -> None:
    service = published_service("http://10.0.0.2:8080/onvif/device_service")
    endpoint = Endpoint(
        uuid=UUID,
        xaddrs=("http://10.0.0.2:8080/onvif/device_service",),
        scopes=SCOPES,
        types=("dn:NetworkVideoTransmitter",),
    )
    hello = createSOAPMessage(constructHello(service)).encode()
    assert parse_message(hello) == Hello(endpoint=endpoint)
    matches = createSOAPMessage(constructProbeMatch([service], "urn:uuid:probe-1")).encode()
    assert parse_message(matches) == ProbeMatches(
        relates_to="urn:uuid:probe-1", endpoints=(endpoint,)
    )
    bye = createSOAPMessage(constructBye(service)).encode()
    assert parse_message(bye) == Bye(uuid=UUID)


async def serving_handler(lab: OnvifLab, directory: Path, **env: str) -> LabProcess:
    handler = await lab.start_handler(directory, **env)
    await lab.wait_serving(handler, directory)
    return handler


def discover(directory: Path) -> DiscoverStream:
    return open_discover(str(directory / "onvif.sock"), "discoveryTimeoutSeconds: 1", {})


def events(process: LabProcess, name: str) -> list[dict[str, object]]:
    found = []
    for line in process.log().splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == name:
                found.append(event)
    return found


def expected_device(camera: SimulatedCamera) -> Device:
    return Device(
        id=f"{camera.url}-{UUID}",
        properties={
            "ONVIF_DEVICE_SERVICE_URL": camera.url,
            "ONVIF_DEVICE_UUID": UUID,
            "ONVIF_DEVICE_IP_ADDRESS": camera.ip,
            "ONVIF_DEVICE_MAC_ADDRESS": MAC,
        },
    )


async def test_our_probe_is_answered_by_the_wsdiscovery_publisher(
    lab: OnvifLab, handler_dir: Path
) -> None:
    camera = await lab.start_camera(uuid=UUID, mac=MAC, discovery=False)
    # Its Hellos have all left before the handler exists: only a ProbeMatch can tell it.
    publisher = await lab.start_wsd_publisher(uuid=UUID, xaddr=camera.url, scopes=SCOPES)
    handler = await serving_handler(lab, handler_dir)
    include = f"scopes: {{action: Include, items: ['{SCOPES[1]}']}}"
    async with discover(handler_dir) as stream:
        devices = await stream.wait_for(lambda d: len(d) == 1, within=10.0)
    assert devices == (expected_device(camera),)
    async with open_discover(
        str(handler_dir / "onvif.sock"), f"discoveryTimeoutSeconds: 1\n{include}", {}
    ) as stream:  # the publisher's scopes arrived intact
        assert await stream.next_list(within=10.0) == (expected_device(camera),)
    assert not events(handler, "onvif_hello"), "found by a Hello, not by a ProbeMatch"
    # The publisher's capture log: it sent its ProbeMatches to our probe socket.
    sent = publisher.log().split(f"SEND {lab.handler_address()}:")
    assert len(sent) > 1, publisher.log()
    assert "ProbeMatches" in sent[1], publisher.log()
    assert '"warning"' not in handler.log()


async def test_wsdiscovery_hello_and_bye_are_followed(lab: OnvifLab, handler_dir: Path) -> None:
    camera = await lab.start_camera(uuid=UUID, mac=MAC, discovery=False)
    # Probes every 60 s: only the publisher's Hello and Bye can explain changes within seconds.
    handler = await serving_handler(lab, handler_dir, ONVIF_PROBE_INTERVAL_SECONDS="60")
    async with discover(handler_dir) as stream:
        assert await stream.next_list(within=10.0) == ()
        started = time.monotonic()
        publisher = await lab.start_wsd_publisher(uuid=UUID, xaddr=camera.url, scopes=SCOPES)
        # The publisher delays its first Hello by up to 0.5 s (SOAP-over-UDP's APP_MAX_DELAY),
        # after its interpreter starts: 2 s alone, more on a loaded CI machine. Any bound under
        # the 60 s probe interval proves the Hello was followed; the events below say so too.
        devices = await stream.wait_for(lambda d: len(d) == 1, within=30.0)
        hello_took = time.monotonic() - started
        assert devices == (expected_device(camera),)
        assert events(handler, "onvif_hello")
        bye_at = time.monotonic()
        publisher.proc.send_signal(signal.SIGTERM)  # clearLocalServices() says Bye
        await stream.wait_for(lambda d: d == (), within=30.0)  # under the probe interval
        bye_took = time.monotonic() - bye_at
        assert await lab.stop(publisher) == 0, publisher.log()
    assert [e["uuid"] for e in events(handler, "onvif_bye")][:1] == [UUID]
    print(f"publisher started -> listed {hello_took:.2f} s; SIGTERM (Bye) -> gone {bye_took:.2f} s")
