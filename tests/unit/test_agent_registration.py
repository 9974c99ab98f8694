"""Turning registration requests into endpoints, and the registry that keeps them."""

from __future__ import annotations

from pathlib import Path

import pytest

from akri_agent.discovery.model import Endpoint, EndpointKind
from akri_agent.discovery.registry import EndpointRegistry
from akri_agent.registration.server import InvalidRegistrationError, endpoint_from_request
from akri_common.backoff import Backoff
from akri_common.ids import HandlerName
from akri_proto.discovery.v0 import discovery_pb2

Request = discovery_pb2.RegisterDiscoveryHandlerRequest


def test_uds_registration() -> None:
    endpoint = endpoint_from_request(Request(name="udev", endpoint="/var/lib/akri/udev.sock"))
    assert endpoint == Endpoint(
        handler=HandlerName("udev"),
        address="/var/lib/akri/udev.sock",
        kind=EndpointKind.UDS,
        shared=False,
    )
    assert endpoint.uid == "udev@/var/lib/akri/udev.sock"
    assert endpoint.target == "unix:///var/lib/akri/udev.sock"


def test_network_registration() -> None:
    endpoint = endpoint_from_request(
        Request(
            name="onvif",
            endpoint="http://10.0.0.7:10000",
            endpoint_type=Request.EndpointType.NETWORK,
            shared=True,
        )
    )
    assert endpoint.kind is EndpointKind.NETWORK
    assert endpoint.shared
    assert endpoint.target == "10.0.0.7:10000"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (Request(name="", endpoint="/x.sock"), "name: must not be empty"),
        (
            Request(name="udev", endpoint="relative.sock"),
            "endpoint: a UDS endpoint must be absolute",
        ),
        (
            Request(name="onvif", endpoint="10.0.0.7", endpoint_type=Request.EndpointType.NETWORK),
            "endpoint: a NETWORK endpoint must look like http://<ip>:<port> (got '10.0.0.7')",
        ),
    ],
)
def test_bad_registrations_name_the_field(request_: Request, message: str) -> None:
    with pytest.raises(InvalidRegistrationError) as caught:
        endpoint_from_request(request_)
    assert str(caught.value).startswith(message)


def test_registry_replaces_and_removes_exactly() -> None:
    registry = EndpointRegistry()
    first = Endpoint(HandlerName("debugEcho"), "/a.sock", EndpointKind.UDS, shared=True)
    again = Endpoint(HandlerName("debugEcho"), "/a.sock", EndpointKind.UDS, shared=False)
    other = Endpoint(HandlerName("debugEcho"), "/b.sock", EndpointKind.UDS, shared=True)
    registry.add(first)
    registry.add(other)
    registry.add(again)
    assert registry.endpoints(HandlerName("debugEcho")) == (again, other)
    assert not registry.remove(first), "a replaced registration is not removed by its old value"
    assert registry.remove(again)
    assert registry.endpoints(HandlerName("debugEcho")) == (other,)
    assert registry.endpoints(HandlerName("udev")) == ()
    assert len(registry) == 1


def test_backoff_grows_to_its_cap_and_resets() -> None:
    backoff = Backoff(initial=0.1, cap=0.5)
    assert [backoff.next_delay() for _ in range(6)] == [0.0, 0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next_delay() == 0.0


@pytest.mark.parametrize(
    ("name", "endpoint"),
    [
        ("x" * 10_000, "/var/lib/akri/x.sock"),
        ("ud\x00ev", "/var/lib/akri/udev.sock"),
        ("udev\n", "/var/lib/akri/udev.sock"),
        ("../udev", "/var/lib/akri/udev.sock"),
        ("-udev", "/var/lib/akri/udev.sock"),
        ("x" * 64, "/var/lib/akri/x.sock"),
    ],
)
def test_names_past_the_charset_or_length_are_refused(name: str, endpoint: str) -> None:
    with pytest.raises(InvalidRegistrationError) as caught:
        endpoint_from_request(Request(name=name, endpoint=endpoint))
    assert str(caught.value).startswith("name: must be 1 to 63 letters, digits")
    assert len(str(caught.value)) < 250


@pytest.mark.parametrize(
    "name", ["udev", "debugEcho", "onvif", "opcua", "my-handler_2.v1", "x" * 63]
)
def test_upstream_style_names_are_accepted(name: str) -> None:
    assert endpoint_from_request(Request(name=name, endpoint=f"/var/lib/akri/{name[:10]}.sock"))


@pytest.mark.parametrize(
    ("endpoint", "accepted"),
    [
        ("/var/lib/akri/udev.sock", True),
        ("/var/lib/akri/handlers/udev.sock", True),
        ("/var/lib/akri/../../run/docker.sock", False),
        ("/run/containerd/containerd.sock", False),
        ("/var/lib/akri", False),
        ("/var/lib/akri-other/udev.sock", False),
    ],
)
def test_unix_sockets_only_inside_the_handlers_directory(endpoint: str, accepted: bool) -> None:
    request = Request(name="udev", endpoint=endpoint)
    if accepted:
        assert endpoint_from_request(request, directory=Path("/var/lib/akri")).address == endpoint
    else:
        with pytest.raises(InvalidRegistrationError, match="must be inside /var/lib/akri"):
            endpoint_from_request(request, directory=Path("/var/lib/akri"))
