"""Deciding what to do with an Instance's broker pods: the pure heart of the broker-pod reconciler.

Upstream's ``pod_action.rs``, by level: every node in ``Instance.spec.nodes`` should have one pod of
the expected name, controlled by this very Instance and built from the current spec. A pod is
deleted when its node left, its name or owner is not the expected one, its spec is outdated, it
ended (``Failed``, ``Succeeded``, ``Unknown``), or it has been ``Pending`` past the grace period; a
node without a live pod gets one. A pod already being deleted is waited for: its replacement has
the same name, so it is created on the pass that follows the deletion. The plan also says when to
look again (the earliest Pending deadline), so a reconciler needs no timers of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from akri_common.ids import NodeName
from akri_controller.brokers import names
from akri_controller.brokers.manifests import SPEC_HASH_ANNOTATION
from akri_controller.brokers.owners import BrokerInstance, controller_of

LIVE_PHASES = frozenset({"Running", "ContainerCreating", "PodInitializing"})


class Reason(Enum):
    NODE_LEFT = "node_left"
    NOT_OURS = "not_this_instance"
    OUTDATED = "spec_changed"
    ENDED = "ended"
    PENDING_TOO_LONG = "pending_too_long"


@dataclass(frozen=True)
class BrokerPod:
    """What the decision needs of an existing broker pod."""

    name: str
    uid: str
    node: NodeName
    phase: str
    since: datetime | None  # status.startTime, else metadata.creationTimestamp
    terminating: bool
    owner_uid: str
    spec_hash: str | None

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> BrokerPod:
        metadata = obj.get("metadata") or {}
        status = obj.get("status") or {}
        owner = controller_of(obj) or {}
        return cls(
            name=str(metadata.get("name", "")),
            uid=str(metadata.get("uid", "")),
            node=NodeName(str((metadata.get("labels") or {}).get(names.TARGET_NODE_LABEL, ""))),
            phase=str(status.get("phase", "Pending")),
            since=_timestamp(status.get("startTime") or metadata.get("creationTimestamp")),
            terminating=bool(metadata.get("deletionTimestamp")),
            owner_uid=str(owner.get("uid", "")),
            spec_hash=(metadata.get("annotations") or {}).get(SPEC_HASH_ANNOTATION),
        )


@dataclass(frozen=True)
class Removal:
    pod: BrokerPod
    reason: Reason


@dataclass(frozen=True)
class PodPlan:
    remove: tuple[Removal, ...]
    add: tuple[NodeName, ...]
    # Seconds until a Pending pod's grace period ends (None: nothing to wait for).
    recheck_after: float | None


def plan_pods(
    instance: BrokerInstance,
    *,
    pods: Iterable[BrokerPod],
    desired_hash: Mapping[NodeName, str],
    now: datetime,
    pending_grace: timedelta,
) -> PodPlan:
    """What to delete and which nodes need a pod; ``desired_hash`` maps each node to its spec hash."""
    wanted = set(instance.nodes)
    remove: list[Removal] = []
    covered: set[NodeName] = set()
    deadlines: list[float] = []
    for pod in sorted(pods, key=lambda p: p.name):
        if pod.terminating:
            covered.add(pod.node)  # its replacement, of the same name, follows its deletion
            continue
        reason = _reason(instance, pod, wanted=wanted, desired_hash=desired_hash, now=now,
                         pending_grace=pending_grace)  # fmt: skip
        if reason is not None:
            remove.append(Removal(pod=pod, reason=reason))
            covered.add(pod.node)
            continue
        if pod.node in covered:  # a second pod for a node already served
            remove.append(Removal(pod=pod, reason=Reason.NOT_OURS))
            continue
        covered.add(pod.node)
        if pod.phase == "Pending" and pod.since is not None:
            deadlines.append((pod.since + pending_grace - now).total_seconds())
    add = tuple(sorted(n for n in wanted if n not in covered))
    recheck = max(0.0, min(deadlines)) if deadlines else None
    return PodPlan(remove=tuple(remove), add=add, recheck_after=recheck)


def _reason(
    instance: BrokerInstance,
    pod: BrokerPod,
    *,
    wanted: set[NodeName],
    desired_hash: Mapping[NodeName, str],
    now: datetime,
    pending_grace: timedelta,
) -> Reason | None:
    if pod.node not in wanted:
        return Reason.NODE_LEFT
    expected = names.pod_name(instance.name, node=pod.node, shared=instance.shared)
    if pod.name != expected or pod.owner_uid != instance.uid:
        return Reason.NOT_OURS
    if pod.spec_hash is not None and pod.spec_hash != desired_hash.get(pod.node):
        return Reason.OUTDATED  # pods made by upstream's controller carry no hash: left alone
    if pod.phase in LIVE_PHASES:
        return None
    if pod.phase != "Pending":
        return Reason.ENDED  # Failed, Succeeded, Unknown: replaced at once (grace 0, as upstream)
    expired = pod.since is not None and now >= pod.since + pending_grace
    return Reason.PENDING_TOO_LONG if expired else None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
