"""Where a handler serves and what it registers: a Unix socket, or ``POD_IP:port`` as NETWORK.

Pure decisions only; :mod:`akri_handler_sdk.server` binds what these functions describe.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from pathlib import Path

from akri_handler_sdk.settings import HandlerSettings


@dataclass(frozen=True)
class Endpoint:
    """A listening address (``bind``, as gRPC spells it) and what the agent is told to dial."""

    bind: str
    registered: str
    network: bool
    socket_path: Path | None = None
    host: str = ""
    port: int = 0

    def with_port(self, port: int) -> Endpoint:
        """The same NETWORK endpoint on the port actually bound (when port 0 asked for any)."""
        if not self.network:
            return self
        host = _bracketed(self.host)
        return replace(self, bind=f"{host}:{port}", registered=f"http://{host}:{port}", port=port)


def socket_path_for(name: str, directory: Path) -> Path:
    """``$DISCOVERY_HANDLERS_DIRECTORY/<name>.sock``, upstream's naming convention."""
    return directory / f"{name}.sock"


def endpoint_for(name: str, settings: HandlerSettings) -> Endpoint:
    """NETWORK on ``POD_IP:port`` when ``POD_IP`` is set, else the handler's Unix socket."""
    if settings.pod_ip:
        return Endpoint(
            bind="",
            registered="",
            network=True,
            host=settings.pod_ip,
            port=settings.port,
        ).with_port(settings.port)
    path = socket_path_for(name, settings.directory)
    return Endpoint(bind=f"unix:{path}", registered=str(path), network=False, socket_path=path)


def _bracketed(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{host}]" if address.version == 6 else host
