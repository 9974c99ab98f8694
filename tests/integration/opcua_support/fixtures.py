"""Building blocks of the OPC UA tests: server specs on free loopback ports, and the lab."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from tests.integration.opcua_support.lab import OpcuaLab
from tests.integration.opcua_support.servers import ServerSpec
from tests.support.agents import free_port


def lds(name: str = "lds") -> ServerSpec:
    """A Local Discovery Server."""
    return ServerSpec(name=name, port=free_port(), application_name=name, kind="discovery")


def server(
    name: str, *, application_name: str, registered_with: ServerSpec | None = None, **fields: Any
) -> ServerSpec:
    """A server, registered with ``registered_with`` (an LDS) when given."""
    return ServerSpec(
        name=name,
        port=free_port(),
        application_name=application_name,
        register_to=None if registered_with is None else registered_with.url,
        **fields,
    )


@contextlib.asynccontextmanager
async def opcua_lab(specs: Sequence[ServerSpec], logs: Path) -> AsyncIterator[OpcuaLab]:
    async with OpcuaLab(specs, log=logs / "opcua-servers.log") as lab:
        yield lab
