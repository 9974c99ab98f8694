"""Upstream's decisions about OPC UA servers, and the devices built from them (pure, no I/O)."""

from __future__ import annotations

import pytest

from akri_opcua.details import FilterAction, FilterList, OpcuaDetails
from akri_opcua.inventory import Found, device_for, device_list
from akri_opcua.servers import (
    Application,
    ApplicationKind,
    Endpoint,
    chosen_url,
    rebuilt_if_unresolved,
    rebuilt_on,
    should_include,
    wanted,
)


def app(
    name: str = "PLC",
    kind: ApplicationKind = ApplicationKind.SERVER,
    urls: tuple[str, ...] = ("opc.tcp://plc:4840/",),
) -> Application:
    return Application(
        uri=f"urn:{name}", product_uri="urn:product", name=name, kind=kind, discovery_urls=urls
    )


INCLUDE_A = FilterList(("A",), FilterAction.INCLUDE)
EXCLUDE_A = FilterList(("A",), FilterAction.EXCLUDE)


@pytest.mark.parametrize(
    ("filter_list", "name", "kept"),
    [
        (None, "A", True),
        (INCLUDE_A, "A", True),
        (INCLUDE_A, "B", False),
        (EXCLUDE_A, "A", False),
        (EXCLUDE_A, "B", True),
        (FilterList((), FilterAction.INCLUDE), "A", False),
        (FilterList((), FilterAction.EXCLUDE), "A", True),
        (INCLUDE_A, "a", False),  # exact, as upstream
    ],
)
def test_should_include(filter_list: FilterList | None, name: str, kept: bool) -> None:
    assert should_include(filter_list, name) is kept


@pytest.mark.parametrize(
    ("kind", "kept"),
    [
        (ApplicationKind.SERVER, True),
        (ApplicationKind.CLIENT_AND_SERVER, True),
        (ApplicationKind.CLIENT, False),
        (ApplicationKind.DISCOVERY_SERVER, False),
    ],
)
def test_wanted_keeps_servers_only(kind: ApplicationKind, kept: bool) -> None:
    assert wanted(OpcuaDetails(), app(kind=kind)) is kept
    assert not wanted(OpcuaDetails(application_names=EXCLUDE_A), app(name="A", kind=kind))


@pytest.mark.parametrize(
    ("urls", "chosen"),
    [
        (("http://plc:80/", "opc.tcp://plc:4840/"), "opc.tcp://plc:4840/"),
        (("opc.tcp://a:1/", "opc.tcp://b:2/"), "opc.tcp://a:1/"),
        (("https://plc:443/",), "https://plc:443/"),
        ((), None),
    ],
)
def test_chosen_url(urls: tuple[str, ...], chosen: str | None) -> None:
    assert chosen_url(app(urls=urls)) == chosen


@pytest.mark.parametrize(
    ("url", "lds", "rebuilt"),
    [
        ("opc.tcp://plc-7:4841/UA/x", "opc.tcp://10.0.0.5:4840/", "opc.tcp://10.0.0.5:4841/UA/x"),
        ("opc.tcp://plc-7/UA", "opc.tcp://lds.local:4840", "opc.tcp://lds.local/UA"),
        ("opc.tcp://plc-7:4841/", "opc.tcp://[fd00::5]:4840/", "opc.tcp://[fd00::5]:4841/"),
    ],
)
def test_rebuilt_on_the_lds_host(url: str, lds: str, rebuilt: str) -> None:
    assert rebuilt_on(url, lds) == rebuilt


def test_only_urls_on_the_unresolved_host_are_rebuilt() -> None:
    lds = "opc.tcp://10.0.0.5:4840/"
    assert rebuilt_if_unresolved("opc.tcp://plc:1/", unresolved="plc", discovery_url=lds) == (
        "opc.tcp://10.0.0.5:1/"
    )
    assert rebuilt_if_unresolved("opc.tcp://other:1/", unresolved="plc", discovery_url=lds) == (
        "opc.tcp://other:1/"
    )
    assert rebuilt_if_unresolved("opc.tcp://plc:1/", unresolved=None, discovery_url=lds) == (
        "opc.tcp://plc:1/"
    )


def test_device_has_upstream_id_and_property_and_the_documented_extras() -> None:
    url = "opc.tcp://plc:4840/"
    endpoints = (
        Endpoint(url, "SignAndEncrypt", "Basic256Sha256"),
        Endpoint(url, "None", "None"),
        Endpoint(url, "Sign", "Basic256Sha256"),
        Endpoint("opc.tcp://plc:4841/", "Sign", "Aes128_Sha256_RsaOaep"),
    )
    device = device_for(Found(url=url, application=app(), endpoints=endpoints))
    assert device.id == url
    assert dict(device.properties) == {
        "OPCUA_DISCOVERY_URL": url,
        "OPCUA_APPLICATION_NAME": "PLC",
        "OPCUA_APPLICATION_URI": "urn:PLC",
        "OPCUA_PRODUCT_URI": "urn:product",
        "OPCUA_ENDPOINT_URLS": "opc.tcp://plc:4840/,opc.tcp://plc:4841/",
        "OPCUA_SECURITY_MODES": "None,Sign,SignAndEncrypt",
        "OPCUA_SECURITY_POLICIES": "Basic256Sha256,None,Aes128_Sha256_RsaOaep",
    }
    assert device.mounts == ()
    assert device.device_specs == ()


def test_empty_properties_are_left_out_and_duplicates_listed_once_sorted() -> None:
    bare = Application(
        uri="", product_uri="", name="", kind=ApplicationKind.SERVER, discovery_urls=()
    )
    devices = device_list(
        [
            Found("opc.tcp://b:1/", bare, ()),
            Found("opc.tcp://a:1/", app(), ()),
            Found("opc.tcp://b:1/", app(), ()),
        ]
    )
    assert [d.id for d in devices] == ["opc.tcp://a:1/", "opc.tcp://b:1/"]
    assert dict(devices[1].properties) == {"OPCUA_DISCOVERY_URL": "opc.tcp://b:1/"}
