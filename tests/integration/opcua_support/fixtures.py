"""Building blocks of the OPC UA tests: server specs on free loopback ports, and the lab."""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from tests.integration.opcua_support.lab import OpcuaLab
from tests.integration.opcua_support.servers import ServerSpec

#: Below the kernel's ephemeral range (32768 and up): no outgoing connection of any process can
#: take one of these ports between the time a spec is made (at collection) and the server's start.
PORTS = range(20000, 30000)


def server_port() -> int:
    """A free TCP port on 127.0.0.1 outside the ephemeral range."""
    for _ in range(100):
        port = random.choice(PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for an OPC UA test server")


def lds(name: str = "lds") -> ServerSpec:
    """A Local Discovery Server."""
    return ServerSpec(name=name, port=server_port(), application_name=name, kind="discovery")


def server(
    name: str, *, application_name: str, registered_with: ServerSpec | None = None, **fields: Any
) -> ServerSpec:
    """A server, registered with ``registered_with`` (an LDS) when given."""
    return ServerSpec(
        name=name,
        port=server_port(),
        application_name=application_name,
        register_to=None if registered_with is None else registered_with.url,
        **fields,
    )


@contextlib.asynccontextmanager
async def opcua_lab(specs: Sequence[ServerSpec], logs: Path) -> AsyncIterator[OpcuaLab]:
    async with OpcuaLab(specs, log=logs / "opcua-servers.log") as lab:
        yield lab
