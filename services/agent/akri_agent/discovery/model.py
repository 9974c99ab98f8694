"""Plain values the discovery core works with: handler endpoints and discovered devices.

Protobuf messages are converted into these at the gRPC edge (``client.py``, ``registration``); nothing
past that edge sees a generated class.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from akri_common.ids import DeviceId, HandlerName


class EndpointKind(enum.Enum):
    UDS = "uds"
    NETWORK = "network"


@dataclass(frozen=True)
class Endpoint:
    """A registered discovery-handler endpoint: a Unix socket path or ``http://<ip>:<port>``."""

    handler: HandlerName
    address: str
    kind: EndpointKind
    shared: bool

    @property
    def uid(self) -> str:
        """``<name>@<endpoint>``: re-registering the same name and address replaces the entry."""
        return f"{self.handler}@{self.address}"

    @property
    def target(self) -> str:
        """The gRPC target to dial."""
        if self.kind is EndpointKind.UDS:
            return f"unix://{self.address}"
        return self.address.removeprefix("http://").removeprefix("https://").rstrip("/")


@dataclass(frozen=True)
class Mount:
    container_path: str
    host_path: str
    read_only: bool = False


@dataclass(frozen=True)
class DeviceSpec:
    container_path: str
    host_path: str
    permissions: str = ""


@dataclass(frozen=True)
class Device:
    """One device as a handler reported it."""

    id: DeviceId
    properties: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    device_specs: tuple[DeviceSpec, ...] = ()


@dataclass(frozen=True)
class EndpointDevices:
    """The latest complete list one endpoint sent, with the endpoint's ``shared`` flag."""

    endpoint: Endpoint
    devices: tuple[Device, ...]
