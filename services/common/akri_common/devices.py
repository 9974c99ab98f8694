"""Discovered devices as plain frozen values, the same on both sides of the discovery protocol.

Handlers report ``Device`` values and the agent receives them; ``Device``, ``Mount`` and
``DeviceSpec`` mirror the v0 protobuf messages field by field, and only the gRPC adapter
(:mod:`akri_common.grpc.discovery_wire`) converts between the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Mount:
    """A host path mounted into every pod that gets the device."""

    container_path: str
    host_path: str
    read_only: bool = False


@dataclass(frozen=True)
class DeviceSpec:
    """A device node given to every pod that gets the device; permissions are any of r, w, m."""

    container_path: str
    host_path: str
    permissions: str = "rw"


@dataclass(frozen=True)
class Device:
    """One discovered device: a stable id, broker properties, mounts and device nodes."""

    id: str
    properties: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    mounts: tuple[Mount, ...] = ()
    device_specs: tuple[DeviceSpec, ...] = ()

    def __post_init__(self) -> None:
        # Copy into read-only containers so that a reported device can never change under the SDK.
        object.__setattr__(self, "properties", MappingProxyType(dict(self.properties)))
        object.__setattr__(self, "mounts", tuple(self.mounts))
        object.__setattr__(self, "device_specs", tuple(self.device_specs))

    def __hash__(self) -> int:
        return hash(
            (self.id, tuple(sorted(self.properties.items())), self.mounts, self.device_specs)
        )
