"""Pure parts of describing a camera: interface facts, fault kinds, HTTP requests, device lists."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from akri_common.devices import Device
from akri_onvif.details import FilterAction, FilterList, OnvifDetails
from akri_onvif.device_service import NetworkFacts, facts_from_interfaces, fault_error
from akri_onvif.inventory import (
    UNKNOWN,
    Camera,
    announced_name,
    device_for,
    device_list,
    needs_network_facts,
    silent_after_round,
)
from akri_onvif.messages import Endpoint

TT = 'xmlns:tt="http://www.onvif.org/ver10/schema"'


def interface(mac: str | None, manual: list[str], dhcp: str | None = None) -> str:
    hw = "" if mac is None else f"<tt:HwAddress>{mac}</tt:HwAddress>"
    addresses = "".join(f"<tt:Manual><tt:Address>{a}</tt:Address></tt:Manual>" for a in manual)
    if dhcp is not None:
        addresses += f"<tt:FromDHCP><tt:Address>{dhcp}</tt:Address></tt:FromDHCP>"
    return (
        f"<tds:NetworkInterfaces token='eth'><tt:Info>{hw}</tt:Info>"
        f"<tt:IPv4><tt:Config>{addresses}</tt:Config></tt:IPv4></tds:NetworkInterfaces>"
    )


def interfaces_of(parts: list[str]) -> list[ET.Element]:
    response = ET.fromstring(
        f'<tds:GetNetworkInterfacesResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
        f"{TT}>{''.join(parts)}</tds:GetNetworkInterfacesResponse>"
    )
    return list(response)


@pytest.mark.parametrize(
    ("interfaces", "facts"),
    [
        ([], NetworkFacts(None, None)),
        ([interface("aa", ["10.0.0.1", "10.0.0.2"])], NetworkFacts("10.0.0.1", "aa")),
        ([interface(None, [], dhcp="10.0.0.3")], NetworkFacts("10.0.0.3", None)),
        ([interface(" ", []), interface("bb", ["10.0.0.4"])], NetworkFacts("10.0.0.4", "bb")),
        (["<tds:NetworkInterfaces/>"], NetworkFacts(None, None)),
        ([interface(None, [])] * 16 + [interface("cc", ["10.0.0.5"])], NetworkFacts(None, None)),
    ],
)
def test_facts_from_interfaces(interfaces: list[str], facts: NetworkFacts) -> None:
    assert facts_from_interfaces(interfaces_of(interfaces)) == facts


def test_fault_kinds() -> None:
    not_authorized = fault_error("Sender", ["NotAuthorized"], "Sender not authorized")
    assert not_authorized.kind == "not_authorized"
    assert fault_error("Receiver", ["Action"], "boom").kind == "fault"
    assert fault_error("Receiver", [], "x" * 500).detail.count("x") == 120
    assert not_authorized.challenge == "soap"
    unsupported = fault_error("Receiver", ["ActionNotSupported"], "")
    assert unsupported.kind == "not_supported"
    assert fault_error("s:Sender", ["ter:NotAuthorized"], "").kind == "not_authorized"


URL = "http://10.0.0.1/onvif/device_service"


def test_device_for() -> None:
    assert device_for(URL, "u1", NetworkFacts("10.0.0.1", "aa")) == Device(
        id=f"{URL}-u1",
        properties={
            "ONVIF_DEVICE_SERVICE_URL": URL,
            "ONVIF_DEVICE_UUID": "u1",
            "ONVIF_DEVICE_IP_ADDRESS": "10.0.0.1",
            "ONVIF_DEVICE_MAC_ADDRESS": "aa",
        },
    )
    assert device_for(URL, "u1", UNKNOWN).properties == {
        "ONVIF_DEVICE_SERVICE_URL": URL,
        "ONVIF_DEVICE_UUID": "u1",
    }


def test_device_list_filters_and_sorts() -> None:
    second = "http://10.0.0.2/onvif/device_service"
    cameras = [
        Camera(Endpoint("u2", (second,), scopes=("s",)), {second: NetworkFacts("10.0.0.2", "bb")}),
        Camera(Endpoint("u1", (URL,), scopes=()), {URL: UNKNOWN}),
    ]
    assert [d.id for d in device_list(OnvifDetails(), cameras)] == [f"{URL}-u1", f"{second}-u2"]
    excluding = OnvifDetails(
        ip_addresses=FilterList(items=("10.0.0.9",), action=FilterAction.EXCLUDE)
    )
    assert [d.id for d in device_list(excluding, cameras)] == [f"{second}-u2"]
    scoped = OnvifDetails(scopes=FilterList(items=("s",)))
    assert [d.id for d in device_list(scoped, cameras)] == [f"{second}-u2"]


def test_needs_network_facts_and_silence() -> None:
    known = Camera(Endpoint("u1", (URL,)), {URL: NetworkFacts("10.0.0.1", None)})
    assert needs_network_facts(None, URL)
    assert not needs_network_facts(known, URL)
    assert needs_network_facts(known, "http://other/")
    assert needs_network_facts(Camera(Endpoint("u1", (URL,)), {URL: UNKNOWN}), URL)
    assert silent_after_round({"a", "b"}, {"b", "c"}) == {"a"}


@pytest.mark.parametrize(
    ("scopes", "name"),
    [
        (None, None),
        (("onvif://www.onvif.org/type/video_encoder",), None),
        (("onvif://www.onvif.org/name/lobby",), "lobby"),
        (("onvif://www.onvif.org/name/Front%20door%0A",), "Front door"),
        (("onvif://www.onvif.org/name/",), None),
        (("onvif://www.onvif.org/name/" + "x" * 1000,), "x" * 64),
    ],
)
def test_the_name_a_camera_announces(scopes: tuple[str, ...] | None, name: str | None) -> None:
    assert announced_name(scopes) == name


def test_a_described_camera_carries_its_announced_name() -> None:
    endpoint = Endpoint(
        uuid="u1", xaddrs=(URL,), scopes=("onvif://www.onvif.org/name/lobby",), types=None
    )
    camera = Camera(endpoint, {URL: NetworkFacts("10.0.0.1", "aa")})
    described = device_list(OnvifDetails(describe_media=True), [camera])
    assert described[0].properties["ONVIF_DEVICE_NAME"] == "lobby"
    plain = device_list(OnvifDetails(), [camera])
    assert "ONVIF_DEVICE_NAME" not in plain[0].properties  # upstream's properties, as upstream
