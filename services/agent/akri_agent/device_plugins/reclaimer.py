"""Freeing slots that kubelet no longer uses, as seen through its pod-resources API.

Every ``interval`` seconds ``List`` tells which device ids kubelet has given to pods. A slot this
node holds whose device (``<instance>-<n>`` of ``akri.sh/<instance>``, or the virtual id of
``akri.sh/<configuration>``) kubelet reported before and no longer reports belongs to a pod that is
gone: it is freed at once. A slot kubelet has never reported may belong to a container being
created (``Allocate`` comes before pod-resources knows the container): it is freed only after
``grace`` seconds unreported. Ids are
compared bare, without the ``akri.sh/`` prefix, so instance-level slots are freed too (upstream
compared a prefixed id and leaked them). ``stale_slots`` decides; the rest asks and acts.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import grpc

from akri_agent.device_plugins.errors import PodResourcesError
from akri_agent.device_plugins.sockets import unix_target
from akri_common.crds import GROUP
from akri_proto.podresources.v1 import api_pb2 as pr_pb
from akri_proto.podresources.v1 import api_pb2_grpc as pr_grpc

LIST_TIMEOUT = 5.0
# Like every gRPC client of the agent: a fresh channel per call that does not inherit an earlier
# failure's reconnect back-off (gRPC shares subchannels between channels by default), so a
# restarted kubelet is asked at once.
CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]
PREFIX = f"{GROUP}/"

K = TypeVar("K", bound=Hashable)

#: A device as kubelet knows it: (resource name ``akri.sh/<plugin>``, bare device id).
DeviceRef = tuple[str, str]


def bare_id(device_id: str) -> str:
    return device_id.removeprefix(PREFIX)


def reported_devices(response: pr_pb.ListPodResourcesResponse) -> frozenset[DeviceRef]:
    """Every Akri device kubelet has assigned to a container."""
    return frozenset(
        (devices.resource_name, bare_id(device_id))
        for pod in response.pod_resources
        for container in pod.containers
        for devices in container.devices
        if devices.resource_name.startswith(PREFIX)
        for device_id in devices.device_ids
    )


@dataclass(frozen=True)
class ReclaimState:
    """What the reclaimer remembers between passes (rebuilt from scratch after a restart)."""

    missing_since: Mapping[Hashable, float] = field(default_factory=dict)
    seen: frozenset[Hashable] = frozenset()


def stale_slots(
    *,
    held: Mapping[K, DeviceRef],
    reported: Set[DeviceRef],
    state: ReclaimState,
    now: float,
    grace: float,
) -> tuple[list[K], ReclaimState]:
    """The held slots to free now, and the state for the next pass."""
    due: list[K] = []
    missing: dict[Hashable, float] = {}
    seen: set[Hashable] = set()
    for key, ref in held.items():
        if (ref[0], bare_id(ref[1])) in reported:
            seen.add(key)
            continue
        since = state.missing_since.get(key, now)
        if key in state.seen or now - since >= grace:
            due.append(key)
        else:
            missing[key] = since
    return due, ReclaimState(missing_since=missing, seen=frozenset(seen))


async def list_devices(socket: Path, *, timeout: float = LIST_TIMEOUT) -> frozenset[DeviceRef]:
    """Asks kubelet's ``/v1.PodResourcesLister/List``; ``PodResourcesError`` if it does not answer."""
    with unix_target(socket) as target:
        async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
            try:
                response = await pr_grpc.PodResourcesListerStub(channel).List(
                    pr_pb.ListPodResourcesRequest(), timeout=timeout
                )
            except grpc.aio.AioRpcError as err:
                raise PodResourcesError(
                    f"pod-resources List on {socket}: {err.code().name}: {err.details()}"
                ) from err
    return reported_devices(response)
