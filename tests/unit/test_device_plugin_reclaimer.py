"""The reclaim decision: bare ids, grace period, per-resource matching."""

from __future__ import annotations

from akri_agent.device_plugins.reclaimer import ReclaimState, reported_devices, stale_slots
from akri_proto.podresources.v1 import api_pb2 as pr


def test_reported_devices_only_akri_resources() -> None:
    response = pr.ListPodResourcesResponse(
        pod_resources=[
            pr.PodResources(
                name="p",
                namespace="default",
                containers=[
                    pr.ContainerResources(
                        name="c",
                        devices=[
                            pr.ContainerDevices(resource_name="akri.sh/i-1", device_ids=["i-1-0"]),
                            pr.ContainerDevices(resource_name="akri.sh/cfg", device_ids=["cfg-0"]),
                            pr.ContainerDevices(resource_name="nvidia.com/gpu", device_ids=["g"]),
                        ],
                    )
                ],
            )
        ]
    )
    assert reported_devices(response) == {("akri.sh/i-1", "i-1-0"), ("akri.sh/cfg", "cfg-0")}


def test_never_reported_slots_are_freed_after_the_grace_only() -> None:
    held = {
        "inst": ("akri.sh/i-1", "i-1-0"),  # instance-level: compared bare (upstream leaked these)
        "conf": ("akri.sh/cfg", "cfg-0"),
        "live": ("akri.sh/i-1", "i-1-1"),
    }
    reported = {("akri.sh/i-1", "i-1-1")}
    due, state = stale_slots(
        held=held, reported=reported, state=ReclaimState(), now=100.0, grace=20
    )
    assert due == []
    assert state.missing_since == {"inst": 100.0, "conf": 100.0}
    due, state = stale_slots(held=held, reported=reported, state=state, now=119.0, grace=20)
    assert due == []
    due, state = stale_slots(held=held, reported=reported, state=state, now=120.0, grace=20)
    assert sorted(due) == ["conf", "inst"]
    assert state.missing_since == {}
    assert state.seen == {"live"}


def test_a_slot_kubelet_stops_reporting_is_freed_at_once() -> None:
    held = {"s": ("akri.sh/i", "i-0")}
    due, state = stale_slots(
        held=held, reported={("akri.sh/i", "i-0")}, state=ReclaimState(), now=0.0, grace=20
    )
    assert due == []
    assert state.seen == {"s"}
    due, state = stale_slots(held=held, reported=set(), state=state, now=10.0, grace=20)
    assert due == ["s"], "its pod is gone: no grace needed"


def test_a_slot_reported_late_is_kept() -> None:
    held = {"s": ("akri.sh/i", "i-0")}
    _, state = stale_slots(held=held, reported=set(), state=ReclaimState(), now=0.0, grace=20)
    due, state = stale_slots(
        held=held, reported={("akri.sh/i", "i-0")}, state=state, now=10.0, grace=20
    )
    assert due == []
    assert state.missing_since == {}
