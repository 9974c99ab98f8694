"""Plain values the discovery core works with: handler endpoints and the lists they report.

Protobuf messages are converted at the gRPC edge (``client.py``, ``registration``); nothing past
that edge sees a generated class. Devices are ``akri_common.devices.Device`` values, the same type
handlers report.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from akri_common.devices import Device
from akri_common.ids import HandlerName


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
class EndpointDevices:
    """The latest complete list one endpoint sent, with the endpoint's ``shared`` flag."""

    endpoint: Endpoint
    devices: tuple[Device, ...]
