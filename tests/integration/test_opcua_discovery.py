"""The OPC UA handler against real asyncua servers on loopback (one process of servers per test).

The handler is served in the test over a real Unix socket (``serve_for_test``) and read through a
real ``Discover`` stream; the servers, and the LDS they register with, run in a child process
(``opcua_support/servers.py``) that the test starts and stops.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
import yaml

from akri_handler_sdk.testing import leftover_tasks_settled, serve_for_test
from akri_opcua import OpcuaHandler, OpcuaSettings
from tests.integration.opcua_support.fixtures import lds, opcua_lab, server
from tests.integration.opcua_support.lab import OpcuaLab

# One process of servers for the whole module (asyncua needs about 1.5 s to initialise each).
pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.usefixtures("no_tasks_left"),
]

LDS = lds()
LINE = server("line1", application_name="Line 1 PLC", registered_with=LDS)
TEST = server("test", application_name="Test Server", registered_with=LDS)
HIDDEN = server(
    "hidden", application_name="Hidden PLC", registered_with=LDS, advertise_host="plc-7.invalid"
)
SETTINGS = OpcuaSettings(refresh_interval_seconds=0.5, call_timeout_seconds=1.0)


def details(*urls: str, exclude: list[str] | None = None, include: list[str] | None = None) -> str:
    document: dict[str, object] = {
        "opcuaDiscoveryMethod": {"standard": {"discoveryUrls": list(urls)}}
    }
    if exclude is not None:
        document["applicationNames"] = {"action": "Exclude", "items": exclude}
    if include is not None:
        document["applicationNames"] = {"action": "Include", "items": include}
    return yaml.safe_dump(document)


def ids(devices: tuple[object, ...]) -> list[str]:
    return sorted(device.id for device in devices)  # type: ignore[attr-defined]


@pytest_asyncio.fixture(loop_scope="module")
async def no_tasks_left() -> AsyncIterator[None]:
    """The shared ``no_leftover_tasks``, in the module's loop (where the tests run)."""
    yield
    assert not await leftover_tasks_settled()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OpcuaLab]:
    async with opcua_lab([LDS, LINE, TEST, HIDDEN], tmp_path_factory.mktemp("opcua")) as running:
        yield running


async def test_lds_lists_registered_servers_and_exclude_filter_removes_one(lab: OpcuaLab) -> None:
    async with serve_for_test(OpcuaHandler(settings=SETTINGS)) as served:
        async with served.discover(details(LDS.url, exclude=["Test Server", "Hidden PLC"])) as s:
            devices = await s.wait_for(lambda d: len(d) >= 1, within=10)
            assert ids(devices) == [LINE.url]
            (device,) = devices
            assert device.properties == {
                "OPCUA_DISCOVERY_URL": LINE.url,
                "OPCUA_APPLICATION_NAME": "Line 1 PLC",
                "OPCUA_APPLICATION_URI": "urn:akri-py:tests:line1",
                "OPCUA_PRODUCT_URI": "urn:akri-py:tests:product",
                "OPCUA_ENDPOINT_URLS": LINE.url,
                "OPCUA_SECURITY_MODES": "None",
                "OPCUA_SECURITY_POLICIES": "None",
            }
        # No filter: every registered server, none of them the LDS itself.
        async with served.discover(details(LDS.url)) as s:
            devices = await s.wait_for(lambda d: len(d) >= 3, within=10)
            assert ids(devices) == sorted([LINE.url, TEST.url, lab.local_url("hidden")])
        # An empty Exclude keeps everything; an empty Include keeps nothing (upstream).
        async with served.discover(details(LDS.url, exclude=[])) as s:
            assert len(await s.wait_for(lambda d: len(d) >= 3, within=10)) == 3
        async with served.discover(details(LDS.url, include=["Test Server"])) as s:
            assert ids(await s.wait_for(lambda d: len(d) >= 1, within=10)) == [TEST.url]
        async with served.discover(details(LDS.url, include=[])) as s:
            assert await s.next_list(within=10) == ()


async def test_a_discovery_url_pointing_at_a_server_finds_that_server(lab: OpcuaLab) -> None:
    async with (
        serve_for_test(OpcuaHandler(settings=SETTINGS)) as served,
        served.discover(details(TEST.url)) as stream,
    ):
        devices = await stream.wait_for(lambda d: len(d) >= 1, within=10)
    assert ids(devices) == [TEST.url]
    assert devices[0].properties["OPCUA_APPLICATION_NAME"] == "Test Server"


async def test_an_unresolvable_advertised_host_is_rebuilt_on_the_lds_host(lab: OpcuaLab) -> None:
    async with (
        serve_for_test(OpcuaHandler(settings=SETTINGS)) as served,
        served.discover(details(LDS.url, include=["Hidden PLC"])) as stream,
    ):
        (device,) = await stream.wait_for(lambda d: len(d) >= 1, within=15)
    rebuilt = lab.local_url("hidden")
    assert HIDDEN.url == f"opc.tcp://plc-7.invalid:{HIDDEN.port}/hidden/"
    assert device.id == rebuilt
    assert device.properties["OPCUA_DISCOVERY_URL"] == rebuilt
    assert device.properties["OPCUA_ENDPOINT_URLS"] == rebuilt


@pytest.mark.parametrize("through_lds", [True, False], ids=["registered-with-lds", "direct"])
async def test_a_stopped_server_goes_within_seconds_and_comes_back(
    lab: OpcuaLab, through_lds: bool
) -> None:
    # A slow re-read: only the dropped connection can explain a removal within the deadline.
    settings = OpcuaSettings(refresh_interval_seconds=30.0, call_timeout_seconds=1.0)
    urls = (LDS.url,) if through_lds else (LINE.url, TEST.url)
    async with (
        serve_for_test(OpcuaHandler(settings=settings)) as served,
        served.discover(details(*urls, exclude=["Hidden PLC"])) as stream,
    ):
        await stream.wait_for(lambda d: ids(d) == sorted([LINE.url, TEST.url]), within=10)
        stopped = await lab.stop("line1")
        await stream.wait_for(lambda d: ids(d) == [TEST.url], within=5)
        gone = time.monotonic() - stopped
    print(f"stopped server gone after {gone:.2f} s")
    # The LDS still lists it (asyncua does not unregister on stop): the handler checked it itself.
    settings = OpcuaSettings()  # the default 1 s re-read
    async with (
        serve_for_test(OpcuaHandler(settings=settings)) as served,
        served.discover(details(*urls, exclude=["Hidden PLC"])) as stream,
    ):
        await stream.wait_for(lambda d: ids(d) == [TEST.url], within=10)
        await lab.start("line1")
        await stream.wait_for(lambda d: ids(d) == sorted([LINE.url, TEST.url]), within=5)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (details("opc.tcp://127.0.0.1/"), "opcuaDiscoveryMethod.standard.discoveryUrls[0]"),
        (details(LINE.url, "http://127.0.0.1:4840/"), "discoveryUrls[1]"),
        ("opcuaDiscoveryMethod: {standard: {discoveryUrls: []}}", "discoveryUrls"),
        ("applicationNames: {action: Maybe, items: []}", "applicationNames.action"),
    ],
)
async def test_bad_discovery_urls_are_invalid_argument_naming_the_field(
    text: str, field: str
) -> None:
    async with (
        serve_for_test(OpcuaHandler(settings=SETTINGS)) as served,
        served.discover(text) as stream,
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stream.next_list(within=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (caught.value.details() or "")
