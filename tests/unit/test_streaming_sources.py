"""Which Services and Instances become which tiles, addresses, and what changes when they move."""

from __future__ import annotations

from typing import Any

import pytest

from akri_streaming.sources import (
    ANY_CAMERA,
    Source,
    Target,
    TargetError,
    clean_label,
    cluster_sources,
    fixed_sources,
    parse_target,
    plan,
    service_target,
)

NS = "akri"


def service(
    name: str,
    *,
    namespace: str = NS,
    ip: str = "10.96.0.20",
    ports: list[dict[str, Any]] | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": metadata,
        "spec": {
            "clusterIP": ip,
            "ports": [{"name": "grpc", "port": 80, "targetPort": 8083}] if ports is None else ports,
        },
    }


def instance(
    name: str,
    *,
    configuration: str = "akri-onvif",
    namespace: str = NS,
    nodes: tuple[str, ...] = ("node-b", "node-a"),
    properties: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "configurationName": configuration,
            "nodes": list(nodes),
            "brokerProperties": properties or {},
        },
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("camera-svc", Target("camera-svc", 80)),
        ("camera-svc.akri:8083", Target("camera-svc.akri", 8083)),
        ("127.0.0.1:50051", Target("127.0.0.1", 50051)),
        ("[::1]:50051", Target("::1", 50051)),
        ("::1", Target("::1", 80)),
        (" 10.0.0.1 ", Target("10.0.0.1", 80)),
    ],
)
def test_targets(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "host:0", "host:65536", "host:http", "[::1", "-bad-", "a b", "x" * 300, "h:1:2:zz"],
)
def test_bad_targets(text: str) -> None:
    with pytest.raises(TargetError):
        parse_target(text)


def test_target_printing() -> None:
    assert str(Target("::1", 80)) == "[::1]:80"
    assert str(Target("10.0.0.1", 80)) == "10.0.0.1:80"


@pytest.mark.parametrize(
    ("svc", "expected"),
    [
        (service("a"), Target("10.96.0.20", 80)),
        (
            service("a", ports=[{"name": "http", "port": 80}, {"name": "grpc", "port": 81}]),
            Target("10.96.0.20", 81),
        ),
        (service("a", ports=[{"name": "http", "port": 80}]), None),
        (service("a", ip="None"), None),  # headless
        (service("a", ip=""), None),
        (service("a", ip="not-an-ip"), None),
        ({"metadata": {"name": "a"}}, None),
    ],
)
def test_service_targets(svc: dict[str, Any], expected: Target | None) -> None:
    assert service_target(svc) == expected


def test_configuration_service_first_then_instances_with_their_services() -> None:
    services = [
        service("akri-onvif-bbbbbb-svc", ip="10.96.0.12"),
        service("akri-onvif-svc", ip="10.96.0.10"),
        service("akri-onvif-aaaaaa-svc", ip="10.96.0.11"),
        service("akri-onvif-cccccc-svc", ip="10.96.0.13"),  # its Instance is gone
        service("other-svc"),
        service("akri-onvif-dddddd-svc", namespace="elsewhere"),  # Instance in another namespace
    ]
    instances = [
        instance("akri-onvif-aaaaaa", properties={"ONVIF_DEVICE_IP_ADDRESS": "10.0.0.5"}),
        instance("akri-onvif-bbbbbb", nodes=("node-a",)),
        instance("akri-onvif-dddddd"),
        instance("akri-udev-eeeeee", configuration="akri-udev"),
    ]
    tiles = cluster_sources(services, instances, configuration="akri-onvif")
    assert tiles == [
        Source("akri.akri-onvif-svc", Target("10.96.0.10", 80), ANY_CAMERA, any_camera=True),
        Source(
            "akri.akri-onvif-aaaaaa-svc", Target("10.96.0.11", 80), "10.0.0.5", ("node-a", "node-b")
        ),
        Source(
            "akri.akri-onvif-bbbbbb-svc", Target("10.96.0.12", 80), "akri-onvif-bbbbbb", ("node-a",)
        ),
    ]


def test_nothing_without_services_and_nothing_being_deleted() -> None:
    assert cluster_sources([], [instance("akri-onvif-aaaaaa")], configuration="akri-onvif") == []
    deleting = [service("akri-onvif-svc", deleting=True)]
    assert cluster_sources(deleting, [], configuration="akri-onvif") == []


def test_every_namespace_has_its_own_tiles() -> None:
    services = [service("cams-svc", namespace="a"), service("cams-svc", namespace="b")]
    keys = [s.key for s in cluster_sources(services, [], configuration="cams")]
    assert keys == ["a.cams-svc", "b.cams-svc"]


def test_dotted_instance_names_map_to_dashed_services() -> None:
    tiles = cluster_sources(
        [service("cams-a-b-svc")],
        [instance("cams-a.b", configuration="cams")],
        configuration="cams",
    )
    assert [s.key for s in tiles] == ["akri.cams-a-b-svc"]


def test_labels_are_printable_and_bounded() -> None:
    assert clean_label("cam\x00\x1b[31m-1\n") == "cam[31m-1"
    assert len(clean_label("x" * 10_000)) == 80
    many = instance("i", nodes=tuple(f"n{i:03d}" for i in range(100)))
    tiles = cluster_sources([service("i-svc")], [many], configuration="akri-onvif")
    assert len(tiles[0].nodes) == 16


def test_fixed_sources() -> None:
    tiles = fixed_sources([("any", Target("svc", 80)), ("camera-1", Target("cam1", 8083))])
    assert tiles == [
        Source("any", Target("svc", 80), ANY_CAMERA, any_camera=True),
        Source("camera-1", Target("cam1", 8083), "cam1"),
    ]


def src(key: str, host: str = "10.0.0.1", label: str = "x") -> Source:
    return Source(key, Target(host, 80), label)


def test_plan_starts_stops_restarts_and_updates() -> None:
    running = {"a": src("a"), "b": src("b"), "c": src("c", host="10.0.0.3")}
    wanted = [src("a", label="renamed"), src("c", host="10.0.0.9"), src("d")]
    changes = plan(running, wanted, limit=10)
    assert changes.stop == ("b", "c")
    assert changes.start == (src("c", host="10.0.0.9"), src("d"))
    assert changes.update == (src("a", label="renamed"),)
    assert changes.left_out == 0


def test_plan_keeps_what_runs_within_the_limit() -> None:
    running = {"b": src("b")}
    changes = plan(running, [src("a"), src("b"), src("c")], limit=2)
    assert changes.stop == ()
    assert changes.start == (src("a"),)
    assert changes.left_out == 1
    assert plan({}, [src(str(i)) for i in range(100)], limit=16).left_out == 84


def test_plan_of_nothing_changed_is_empty() -> None:
    running = {"a": src("a")}
    changes = plan(running, [src("a")], limit=4)
    assert (changes.start, changes.stop, changes.update, changes.left_out) == ((), (), (), 0)


def test_a_camera_that_announced_its_name_is_shown_by_it() -> None:
    tiles = cluster_sources(
        [service("akri-onvif-aaaaaa-svc", ip="10.96.0.11")],
        [
            instance(
                "akri-onvif-aaaaaa",
                properties={"ONVIF_DEVICE_NAME": "lobby", "ONVIF_DEVICE_IP_ADDRESS": "10.0.0.5"},
            )
        ],
        configuration="akri-onvif",
    )
    assert [(t.label, t.named) for t in tiles] == [("lobby", True)]
