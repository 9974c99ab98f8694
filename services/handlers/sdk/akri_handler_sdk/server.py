"""Serving a handler: bind its endpoint, serve ``v0.DiscoveryHandler``, keep it registered, clean up.

``serving`` is the async context manager under everything (tests use it directly); ``serve`` runs it
until cancelled. On exit the registrar is cancelled and awaited, the server stopped and the Unix
socket removed, so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import structlog

from akri_handler_sdk.endpoints import Endpoint, endpoint_for
from akri_handler_sdk.errors import ServeError
from akri_handler_sdk.protocol import DiscoveryHandler
from akri_handler_sdk.registration import Backoff, Registrar
from akri_handler_sdk.servicer import DiscoveryServicer
from akri_handler_sdk.settings import HandlerSettings
from akri_proto.discovery.v0 import discovery_pb2_grpc as pb_grpc

log = structlog.get_logger(__name__)

#: Owner and group may connect; nobody else (the agent runs as root or in the group).
SOCKET_MODE = stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP
_STOP_GRACE = 1.0


@dataclass(frozen=True)
class Serving:
    """A handler being served: its endpoint, its registrar (None when not registering)."""

    endpoint: Endpoint
    registrar: Registrar | None
    servicer: DiscoveryServicer


@contextlib.asynccontextmanager
async def serving(
    handler: DiscoveryHandler[Any],
    settings: HandlerSettings,
    *,
    register: bool = True,
    backoff: Backoff | None = None,
) -> AsyncIterator[Serving]:
    """Serves ``handler`` on its endpoint and, with ``register``, keeps it registered with the agent."""
    endpoint = endpoint_for(handler.name, settings)
    registrar: Registrar | None = None
    servicer = DiscoveryServicer(handler)
    server = grpc.aio.server()
    pb_grpc.add_DiscoveryHandlerServicer_to_server(servicer, server)
    if endpoint.socket_path is not None:
        _remove_stale_socket(endpoint.socket_path)
    try:
        port = server.add_insecure_port(endpoint.bind)
    except RuntimeError as err:
        raise ServeError(f"cannot listen on {endpoint.bind}: {err}") from err
    endpoint = endpoint.with_port(port)
    registration: asyncio.Task[None] | None = None
    try:
        await server.start()
        if endpoint.socket_path is not None:
            endpoint.socket_path.chmod(SOCKET_MODE)
        log.info("serving", handler=handler.name, endpoint=endpoint.registered)
        if register:
            registrar = Registrar(
                socket_path=settings.registration_socket,
                name=handler.name,
                endpoint=endpoint,
                shared=handler.shared,
                backoff=backoff,
            )
            servicer.on_stream_dropped = registrar.notify_stream_dropped
            registration = asyncio.create_task(registrar.run(), name="registration")
        yield Serving(endpoint=endpoint, registrar=registrar, servicer=servicer)
    finally:
        if registration is not None:
            registration.cancel()
            await asyncio.wait([registration])
            if not registration.cancelled() and registration.exception() is not None:
                log.error("registration_failed", error=str(registration.exception()))
        await server.stop(_STOP_GRACE)
        if endpoint.socket_path is not None:
            endpoint.socket_path.unlink(missing_ok=True)
        log.info("stopped", handler=handler.name, endpoint=endpoint.registered)


async def serve(
    handler: DiscoveryHandler[Any], settings: HandlerSettings, *, register: bool = True
) -> None:
    """Serves and registers ``handler`` until cancelled; cleans up before the cancellation returns."""
    async with serving(handler, settings, register=register):
        await asyncio.Event().wait()


def _remove_stale_socket(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ServeError(f"{path} exists and is not a socket; refusing to replace it")
    os.unlink(path)
    log.info("stale_socket_removed", path=str(path))
