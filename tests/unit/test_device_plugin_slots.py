"""Slots: deviceUsage parsing and rendering, health lists, claim decisions, virtual ids."""

from __future__ import annotations

import pytest

from akri_agent.device_plugins.slots import (
    AlreadyHeld,
    Claim,
    ClaimVirtual,
    DeviceState,
    MemberSlots,
    ReuseVirtual,
    Taken,
    UnknownDeviceIdError,
    VirtualSlots,
    assign_virtual_slots,
    configuration_devices,
    decide_claim,
    decide_virtual_claim,
    instance_devices,
    slot_index,
)
from akri_common.crds.usage import (
    ConfigurationUsage,
    NodeUsage,
    Usage,
    UsageParseError,
    parse_device_usage,
    parse_usage,
    render_usage,
)
from akri_common.ids import ConfigurationName, InstanceName, NodeName

NODE = NodeName("node-a")
OTHER = NodeName("node-b")
INST = InstanceName("cfg-8120fe")
INST2 = InstanceName("cfg-a19705")
CFG = ConfigurationName("cfg")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("node-a", NodeUsage("node-a")),
        ("C:cfg-0:node-a", ConfigurationUsage("cfg-0", "node-a")),
    ],
)
def test_parse_and_render_round_trip(value: str, expected: Usage | None) -> None:
    assert parse_usage("s", value) == expected
    if expected is not None:
        assert render_usage(expected) == value


@pytest.mark.parametrize("value", ["a:b", "C::node", "C:vid:", "X:vid:node", "C:a:b:c"])
def test_parse_rejects_malformed(value: str) -> None:
    with pytest.raises(UsageParseError, match=r"deviceUsage\['s'\]"):
        parse_usage("s", value)


def test_unreadable_entry_counts_as_used_by_someone_else() -> None:
    used, errors = parse_device_usage({"s-0": "", "s-1": "node-a", "s-2": "x:y"})
    assert used == {"s-1": NodeUsage("node-a"), "s-2": NodeUsage("x:y")}
    assert [e.slot for e in errors] == ["s-2"]


@pytest.mark.parametrize(
    ("device_id", "capacity", "index"),
    [("cfg-8120fe-0", 1, 0), ("cfg-8120fe-3", 4, 3)],
)
def test_slot_index(device_id: str, capacity: int, index: int) -> None:
    assert slot_index(INST, capacity, device_id) == index


@pytest.mark.parametrize(
    "device_id", ["cfg-8120fe-1", "cfg-8120fe-", "cfg-8120fe-01", "other-0", "cfg-8120fe-x", "0"]
)
def test_slot_index_rejects(device_id: str) -> None:
    with pytest.raises(UnknownDeviceIdError):
        slot_index(INST, 1, device_id)


def test_instance_health_follows_usage() -> None:
    usage: dict[str, Usage] = {
        f"{INST}-1": NodeUsage(NODE),
        f"{INST}-2": NodeUsage(OTHER),
        f"{INST}-3": ConfigurationUsage("cfg-0", NODE),
    }
    devices = instance_devices(instance=INST, capacity=5, usage=usage, node=NODE)
    assert [(d.id, d.health) for d in devices] == [
        (f"{INST}-0", "Healthy"),
        (f"{INST}-1", "Healthy"),
        (f"{INST}-2", "Unhealthy"),
        (f"{INST}-3", "Unhealthy"),
        (f"{INST}-4", "Healthy"),
    ]


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (None, Claim("s")),
        (NodeUsage(NODE), AlreadyHeld("s")),
        (NodeUsage(OTHER), Taken("s", "node-b")),
        (ConfigurationUsage("cfg-0", NODE), Taken("s", "C:cfg-0:node-a")),
    ],
)
def test_decide_claim(current: Usage | None, expected: object) -> None:
    assert decide_claim("s", NodeUsage(NODE), current) == expected


def test_virtual_ids_used_plus_one_free_per_instance() -> None:
    members = [
        MemberSlots(INST, 2, {f"{INST}-0": ConfigurationUsage("cfg-0", NODE)}),
        MemberSlots(INST2, 1, {f"{INST2}-0": NodeUsage(OTHER)}),  # nothing free
    ]
    virtual = assign_virtual_slots(
        configuration=CFG, members=members, node=NODE, previous=VirtualSlots()
    )
    assert dict(virtual.used) == {"cfg-0": virtual.used["cfg-0"]}
    assert virtual.used["cfg-0"].slot == f"{INST}-0"
    assert dict(virtual.free) == {"cfg-1": INST}


def test_free_virtual_id_is_kept_between_assignments() -> None:
    members = [MemberSlots(INST, 1, {}), MemberSlots(INST2, 1, {})]
    previous = VirtualSlots(free={"cfg-7": INST2})
    virtual = assign_virtual_slots(configuration=CFG, members=members, node=NODE, previous=previous)
    assert dict(virtual.free) == {"cfg-0": INST, "cfg-7": INST2}


def test_other_nodes_configuration_usage_is_not_a_virtual_id_here() -> None:
    members = [MemberSlots(INST, 1, {f"{INST}-0": ConfigurationUsage("cfg-0", OTHER)})]
    virtual = assign_virtual_slots(
        configuration=CFG, members=members, node=NODE, previous=VirtualSlots()
    )
    assert virtual == VirtualSlots()


@pytest.mark.parametrize(
    ("used_healthy", "expected"),
    [
        (False, [("cfg-0", "Healthy"), ("cfg-2", "Unhealthy"), ("cfg-10", "Healthy")]),
        (True, [("cfg-0", "Healthy"), ("cfg-2", "Healthy"), ("cfg-10", "Healthy")]),
    ],
)
def test_configuration_devices_report_used_ids_unhealthy(
    used_healthy: bool, expected: list[tuple[str, str]]
) -> None:
    virtual = assign_virtual_slots(
        configuration=CFG,
        members=[
            MemberSlots(INST, 2, {f"{INST}-1": ConfigurationUsage("cfg-2", NODE)}),
        ],
        node=NODE,
        previous=VirtualSlots(free={"cfg-10": INST}),
    )
    virtual = VirtualSlots(used=virtual.used, free={**virtual.free, "cfg-0": INST2})
    devices = configuration_devices(virtual, used_healthy=used_healthy)
    assert [(d.id, d.health) for d in devices] == expected
    assert all(isinstance(d, DeviceState) for d in devices)


def test_virtual_claim_decisions() -> None:
    members = [MemberSlots(INST, 3, {f"{INST}-0": ConfigurationUsage("cfg-0", NODE)})]
    virtual = assign_virtual_slots(
        configuration=CFG, members=members, node=NODE, previous=VirtualSlots()
    )

    def decide(vid: str) -> object:
        return decide_virtual_claim(
            configuration=CFG, virtual=virtual, members=members, virtual_id_requested=vid
        )

    assert decide("cfg-1") == ClaimVirtual(INST, (f"{INST}-1", f"{INST}-2"))
    # offered again (init then main container of one pod): the claim is reused (upstream #843)
    assert decide("cfg-0") == ReuseVirtual(INST, f"{INST}-0")
    with pytest.raises(UnknownDeviceIdError):
        decide("cfg-9")
