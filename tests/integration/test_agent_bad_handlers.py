"""Handlers that misbehave: the agent's discovery core warns once and keeps serving the rest.

The misbehaving handlers are real gRPC servers on Unix sockets, written here against the v0
contract directly (the SDK would not let a handler send such lists).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog

from akri_agent.discovery import request as request_module
from akri_agent.discovery.manager import ConfigurationKey, DiscoveryManager
from akri_agent.discovery.model import Endpoint, EndpointKind
from akri_common.crds.configuration import Configuration, parse_configuration
from akri_common.ids import HandlerName, NodeName
from akri_proto.discovery.v0 import discovery_pb2 as pb
from akri_proto.discovery.v0 import discovery_pb2_grpc as pb_grpc
from tests.support.processes import wait_for


class Nonsense(pb_grpc.DiscoveryHandlerServicer):
    """Sends one list with an empty, a duplicated and an oversized id among good ones."""

    async def Discover(  # noqa: N802
        self, request: pb.DiscoverRequest, context: Any
    ) -> AsyncIterator[pb.DiscoverResponse]:
        ids = ["ok1", "", "ok1", "x" * 2000, "ok2"]
        yield pb.DiscoverResponse(devices=[pb.Device(id=i) for i in ids])
        await asyncio.Event().wait()  # then stays open, as a live handler does


class Silent(pb_grpc.DiscoveryHandlerServicer):
    """Accepts Discover and never sends anything."""

    async def Discover(  # noqa: N802
        self, request: pb.DiscoverRequest, context: Any
    ) -> AsyncIterator[pb.DiscoverResponse]:
        await asyncio.Event().wait()
        yield pb.DiscoverResponse()  # pragma: no cover - never reached


async def serve(servicer: pb_grpc.DiscoveryHandlerServicer, path: Path) -> grpc.aio.Server:
    server = grpc.aio.server()
    pb_grpc.add_DiscoveryHandlerServicer_to_server(servicer, server)
    server.add_insecure_port(f"unix://{path}")
    await server.start()
    return server


def configuration(name: str, handler: str) -> Configuration:
    return parse_configuration(
        {"metadata": {"name": name}, "spec": {"discoveryHandler": {"name": handler}}}
    )


async def test_nonsense_and_silence_are_reported_and_contained(
    sockets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request_module, "FIRST_LIST_WARNING_SECONDS", 0.5)
    nonsense = await serve(Nonsense(), sockets_dir / "nonsense.sock")
    silent = await serve(Silent(), sockets_dir / "silent.sock")
    manager = DiscoveryManager(node=NodeName("n"), on_change=lambda _key: None)
    try:
        with structlog.testing.capture_logs() as logs:
            for name, handler in (("c-nonsense", "nonsense"), ("c-silent", "silent")):
                await manager.apply(configuration(name, handler))
                manager.register(
                    Endpoint(
                        handler=HandlerName(handler),
                        address=str(sockets_dir / f"{handler}.sock"),
                        kind=EndpointKind.UDS,
                        shared=True,
                    )
                )
            key = ConfigurationKey(namespace="default", name=configuration("c-nonsense", "x").name)

            def kept() -> set[str]:
                state = manager.state(key)
                return set() if state is None else {i.device.id for i in state.instances}

            await wait_for(lambda: kept() == {"ok1", "ok2"}, timeout=5, what="the sound devices")
            await wait_for(
                lambda: any(e["event"] == "discovery_handler_silent" for e in logs),
                timeout=5,
                what="the silent handler to be reported",
            )
        rejected = [e for e in logs if e["event"] == "devices_rejected"]
        assert len(rejected) == 1, "one warning for one bad list"
        assert rejected[0]["problems"] == [
            "device[1]: empty id",
            "device[2]: duplicate id 'ok1'",
            "device[3]: id of 2000 characters (at most 1024)",
        ]
        silent_events = [e for e in logs if e["event"] == "discovery_handler_silent"]
        assert len(silent_events) == 1
        assert silent_events[0]["log_level"] == "warning"
        state = manager.state(
            ConfigurationKey(namespace="default", name=configuration("c-silent", "x").name)
        )
        assert state is not None
        assert state.instances == ()
    finally:
        await manager.close()
        await nonsense.stop(None)
        await silent.stop(None)
