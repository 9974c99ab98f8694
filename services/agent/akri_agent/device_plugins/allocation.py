"""What ``Allocate`` gives a container: env, mounts and device nodes of the Instances it got. Pure.

Env: the discovered device's properties, then the Instance's ``brokerProperties`` (which already
hold them merged with the Configuration's; later wins), each as ``KEY`` and ``KEY_<HASH6>`` where
``HASH6`` is the Instance name's 6-hex suffix upper-cased. Mounts and device nodes come from the
device; a device node's host path defaults to its container path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import structlog

from akri_agent.env_names import DEFAULT_POLICY, EnvPolicy, filter_env
from akri_common.crds.naming import env_suffix
from akri_common.devices import Device, DeviceSpec, Mount
from akri_common.ids import InstanceName


@dataclass(frozen=True)
class ContainerAllocation:
    envs: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    devices: tuple[DeviceSpec, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)


log = structlog.get_logger(__name__)


def instance_digest(instance: InstanceName) -> str:
    """The 6-hex digest at the end of ``<configuration>-<hash6>`` (the last 6 characters when the
    name does not follow the rule)."""
    return instance.rsplit("-", 1)[-1] if "-" in instance else instance[-6:]


def instance_allocation(
    *,
    instance: InstanceName,
    broker_properties: Mapping[str, str],
    device: Device | None,
    env_policy: EnvPolicy = DEFAULT_POLICY,
) -> ContainerAllocation:
    """The container edits for one Instance (names ``env_policy`` refuses are left out)."""
    suffix = env_suffix(instance_digest(instance))
    merged = dict(device.properties) if device is not None else {}
    merged.update(broker_properties)
    merged, dropped = filter_env(merged, env_policy)
    if dropped:
        log.warning(
            "properties_not_set_as_env",
            instance=instance,
            dropped={repr(name)[:80]: reason for name, reason in list(dropped.items())[:20]},
        )
    envs: dict[str, str] = {}
    for key, value in merged.items():
        envs[key] = value
        envs[f"{key}_{suffix}"] = value
    if device is None:
        return ContainerAllocation(envs=envs)
    return ContainerAllocation(
        envs=envs,
        mounts=tuple(device.mounts),
        devices=tuple(
            DeviceSpec(
                container_path=spec.container_path,
                host_path=spec.host_path or spec.container_path,
                permissions=spec.permissions,
            )
            for spec in device.device_specs
        ),
    )


def merge_allocations(allocations: Iterable[ContainerAllocation]) -> ContainerAllocation:
    """One container's edits when it got several slots: envs merged (suffixed keys stay distinct,
    an unsuffixed key takes the last Instance's value), mounts and device nodes without repeats."""
    envs: dict[str, str] = {}
    annotations: dict[str, str] = {}
    mounts: list[Mount] = []
    devices: list[DeviceSpec] = []
    for allocation in allocations:
        envs.update(allocation.envs)
        annotations.update(allocation.annotations)
        mounts += [m for m in allocation.mounts if m not in mounts]
        devices += [d for d in allocation.devices if d not in devices]
    return ContainerAllocation(
        envs=envs, mounts=tuple(mounts), devices=tuple(devices), annotations=annotations
    )
