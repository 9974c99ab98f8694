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
import structlog

from akri_agent.discovery.manager import ConfigurationKey, DiscoveryManager, DiscoveryTimings
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


class FailsOnBadDetails(pb_grpc.DiscoveryHandlerServicer):
    """Answers details ``fail`` with an error (UNKNOWN, as an exception in a handler gives),
    ``invalid`` with INVALID_ARGUMENT and anything else with one device; counts the calls it
    failed."""

    def __init__(self) -> None:
        self.failed = 0

    async def Discover(  # noqa: N802
        self, request: pb.DiscoverRequest, context: Any
    ) -> AsyncIterator[pb.DiscoverResponse]:
        if request.discovery_details == "fail":
            self.failed += 1
            await context.abort(grpc.StatusCode.UNKNOWN, "cannot read these details")
        if request.discovery_details == "invalid":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "details: not a list")
        yield pb.DiscoverResponse(devices=[pb.Device(id=f"dev-{request.discovery_details}")])
        await asyncio.Event().wait()


def configuration(name: str, handler: str, details: str = "") -> Configuration:
    return parse_configuration(
        {
            "metadata": {"name": name},
            "spec": {"discoveryHandler": {"name": handler, "discoveryDetails": details}},
        }
    )


async def test_nonsense_and_silence_are_reported_and_contained(
    sockets_dir: Path,
) -> None:
    nonsense = await serve(Nonsense(), sockets_dir / "nonsense.sock")
    silent = await serve(Silent(), sockets_dir / "silent.sock")
    manager = DiscoveryManager(
        node=NodeName("n"),
        on_change=lambda _key: None,
        timings=DiscoveryTimings(first_list_warning=0.5),
    )
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


async def test_a_failing_configuration_keeps_the_handler_for_the_others(sockets_dir: Path) -> None:
    """An error on one Configuration's Discover (before any list) concerns that Configuration:
    the endpoint stays registered, a good Configuration applied before and after it gets its
    devices, the failing one is retried, and no "silent handler" warning fires for calls that
    were answered with an error."""
    servicer = FailsOnBadDetails()
    server = await serve(servicer, sockets_dir / "flaky.sock")
    manager = DiscoveryManager(
        node=NodeName("n"),
        on_change=lambda _key: None,
        timings=DiscoveryTimings(first_list_warning=0.3),
    )
    endpoint = Endpoint(
        handler=HandlerName("flaky"),
        address=str(sockets_dir / "flaky.sock"),
        kind=EndpointKind.UDS,
        shared=True,
    )
    before, bad, after = (
        configuration("good-before", "flaky", "a"),
        configuration("bad", "flaky", "fail"),
        configuration("good-after", "flaky", "b"),
    )

    def devices(config: Configuration) -> set[str]:
        state = manager.state(ConfigurationKey.of(config))
        return set() if state is None else {i.device.id for i in state.instances}

    try:
        with structlog.testing.capture_logs() as logs:
            await manager.apply(before)
            manager.register(endpoint)
            await wait_for(lambda: devices(before) == {"dev-a"}, timeout=5, what="dev-a")
            await manager.apply(bad)
            await wait_for(lambda: servicer.failed >= 1, timeout=5, what="the first failure")
            await manager.apply(after)
            await wait_for(lambda: devices(after) == {"dev-b"}, timeout=5, what="dev-b")
            await manager.apply(configuration("invalid", "flaky", "invalid"))
            # Retried with back-off (0, 0.05, 0.1 ... 1.6 s): seven failures take over 3 s, far
            # past the warning's 0.3 s, in which a timer left running for the failed or the
            # refused calls would fire.
            await wait_for(lambda: servicer.failed >= 7, timeout=15, what="seven failures")
        assert len(manager.registry) == 1, "the endpoint is still registered"
        state = manager.state(ConfigurationKey.of(bad))
        assert state is not None
        assert state.instances == ()
        assert not state.listed, "a failing Discover is no answer"
        assert "cannot read these details" in str(state.errors[0])
        events = [e["event"] for e in logs]
        assert "handler_forgotten" not in events
        assert "discovery_handler_silent" not in events
        assert events.count("discovery_failed") == 1, "a repeated failure is logged once"
    finally:
        await manager.close()
        await server.stop(None)
