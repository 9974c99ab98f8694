"""What happens to an Instance's broker pods: upstream's pod_action table, by level."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from akri_common.ids import ConfigurationName, InstanceName, NodeName
from akri_controller.brokers.actions import BrokerPod, Reason, plan_pods
from akri_controller.brokers.owners import BrokerInstance

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=5)
A, B = NodeName("node-a"), NodeName("node-b")
INSTANCE = BrokerInstance(
    name=InstanceName("cam-1"),
    namespace="ns",
    uid="i-uid",
    configuration=ConfigurationName("cam"),
    shared=True,
    nodes=(A, B),
)
HASHES = {A: "ha", B: "hb"}


def pod(
    node: NodeName = A, *, phase: str = "Running", age: float = 0, **changes: object
) -> BrokerPod:
    base = BrokerPod(
        name=f"{node}-cam-1-pod",
        uid=f"u-{node}",
        node=node,
        phase=phase,
        since=NOW - timedelta(seconds=age),
        terminating=False,
        owner_uid="i-uid",
        spec_hash=HASHES.get(node),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("existing", "removed", "added"),
    [
        pytest.param([], [], [A, B], id="no pods: one per node"),
        pytest.param([pod(A), pod(B)], [], [], id="both running: nothing"),
        pytest.param(
            [pod(A, phase="ContainerCreating"), pod(B, phase="PodInitializing")],
            [],
            [],
            id="starting counts as live",
        ),
        pytest.param([pod(A), pod(NodeName("gone"))], [Reason.NODE_LEFT], [B], id="node left"),
        pytest.param(
            [pod(A, phase="Failed"), pod(B)],
            [Reason.ENDED],
            [],
            id="failed: removed, re-added next pass",
        ),
        pytest.param(
            [pod(A, phase="Succeeded"), pod(B)], [Reason.ENDED], [], id="succeeded: replaced"
        ),
        pytest.param([pod(A, phase="Unknown"), pod(B)], [Reason.ENDED], [], id="unknown: replaced"),
        pytest.param([pod(A, phase="Pending", age=299), pod(B)], [], [], id="pending within grace"),
        pytest.param(
            [pod(A, phase="Pending", age=300), pod(B)],
            [Reason.PENDING_TOO_LONG],
            [],
            id="pending past grace",
        ),
        pytest.param(
            [pod(A, phase="Pending", since=None), pod(B)], [], [], id="pending without a time: wait"
        ),
        pytest.param(
            [pod(A, terminating=True, phase="Failed")], [], [B], id="terminating: wait for it"
        ),
        pytest.param(
            [pod(A, owner_uid="old-uid"), pod(B)], [Reason.NOT_OURS], [], id="older Instance's pod"
        ),
        pytest.param(
            [pod(A, name="cam-1-pod"), pod(B)],
            [Reason.NOT_OURS],
            [],
            id="wrong name (sharing changed)",
        ),
        pytest.param(
            [pod(A, spec_hash="old"), pod(B)], [Reason.OUTDATED], [], id="brokerPodSpec changed"
        ),
        pytest.param([pod(A, spec_hash=None), pod(B)], [], [], id="no hash (upstream's pod): kept"),
        pytest.param(
            [pod(A), pod(A, name="node-a-cam-1-pod-2", uid="x"), pod(B)],
            [Reason.NOT_OURS],
            [],
            id="duplicate",
        ),
    ],
)
def test_pod_actions(
    existing: list[BrokerPod], removed: list[Reason], added: list[NodeName]
) -> None:
    plan = plan_pods(INSTANCE, pods=existing, desired_hash=HASHES, now=NOW, pending_grace=GRACE)
    assert [r.reason for r in plan.remove] == removed
    assert list(plan.add) == added


def test_no_nodes_means_no_pods() -> None:
    instance = replace(INSTANCE, nodes=())
    plan = plan_pods(instance, pods=[pod(A), pod(B)], desired_hash={}, now=NOW, pending_grace=GRACE)
    assert {r.pod.node for r in plan.remove} == {A, B}
    assert plan.add == ()


def test_unshared_instance_pod_name() -> None:
    instance = replace(INSTANCE, shared=False, nodes=(A,))
    ours = pod(A, name="cam-1-pod")
    plan = plan_pods(instance, pods=[ours], desired_hash=HASHES, now=NOW, pending_grace=GRACE)
    assert plan.remove == ()
    assert plan.add == ()


def test_recheck_after_the_earliest_pending_deadline() -> None:
    plan = plan_pods(
        INSTANCE,
        pods=[pod(A, phase="Pending", age=200), pod(B, phase="Pending", age=60)],
        desired_hash=HASHES,
        now=NOW,
        pending_grace=GRACE,
    )
    assert plan.recheck_after == pytest.approx(100)
    running = plan_pods(
        INSTANCE, pods=[pod(A), pod(B)], desired_hash=HASHES, now=NOW, pending_grace=GRACE
    )
    assert running.recheck_after is None


def test_zero_grace_replaces_pending_at_once() -> None:
    plan = plan_pods(
        INSTANCE,
        pods=[pod(A, phase="Pending"), pod(B)],
        desired_hash=HASHES,
        now=NOW,
        pending_grace=timedelta(0),
    )
    assert [r.reason for r in plan.remove] == [Reason.PENDING_TOO_LONG]


def test_broker_pod_from_object() -> None:
    obj = {
        "metadata": {
            "name": "node-a-cam-1-pod",
            "uid": "u1",
            "labels": {"akri.sh/target-node": "node-a"},
            "annotations": {"akri.sh/broker-spec-hash": "ha"},
            "creationTimestamp": "2026-01-01T11:00:00Z",
            "ownerReferences": [{"kind": "Instance", "uid": "i-uid", "controller": True}],
        },
        "status": {"phase": "Pending"},
    }
    assert BrokerPod.of(obj) == pod(A, phase="Pending", uid="u1", age=3600)
    obj["status"] = {"phase": "Running", "startTime": "2026-01-01T11:30:00Z"}
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:00Z"  # type: ignore[index]
    assert BrokerPod.of(obj) == pod(A, uid="u1", age=1800, terminating=True)
