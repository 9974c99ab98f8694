"""The ``v0.Registration`` server that discovery handlers register with.

It listens on ``$DISCOVERY_HANDLERS_DIRECTORY/agent-registration.sock`` (a stale file is removed
first; the socket is made readable and writable by owner and group only), checks each request and
hands a plain ``Endpoint`` to ``on_register``. A malformed request gets ``INVALID_ARGUMENT`` naming
the field.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import grpc
import structlog

from akri_agent.discovery.model import Endpoint, EndpointKind
from akri_common.ids import HandlerName
from akri_proto.discovery.v0 import discovery_pb2, discovery_pb2_grpc

log = structlog.get_logger(__name__)

SOCKET_NAME = "agent-registration.sock"
SOCKET_MODE = stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP
_Request = discovery_pb2.RegisterDiscoveryHandlerRequest


class InvalidRegistrationError(ValueError):
    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}: {reason} (got {value!r})")


def endpoint_from_request(request: _Request) -> Endpoint:
    """The endpoint a registration describes, or ``InvalidRegistrationError`` naming the field."""
    if not request.name:
        raise InvalidRegistrationError("name", request.name, "must not be empty")
    address = request.endpoint
    if request.endpoint_type == _Request.EndpointType.UDS:
        if not address.startswith("/"):
            raise InvalidRegistrationError("endpoint", address, "a UDS endpoint must be absolute")
        kind = EndpointKind.UDS
    elif request.endpoint_type == _Request.EndpointType.NETWORK:
        parts = urlsplit(address)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.port is None:
            raise InvalidRegistrationError(
                "endpoint", address, "a NETWORK endpoint must look like http://<ip>:<port>"
            )
        kind = EndpointKind.NETWORK
    else:
        raise InvalidRegistrationError("endpoint_type", request.endpoint_type, "unknown type")
    return Endpoint(
        handler=HandlerName(request.name), address=address, kind=kind, shared=request.shared
    )


class _Servicer(discovery_pb2_grpc.RegistrationServicer):
    def __init__(self, on_register: Callable[[Endpoint], None]) -> None:
        self._on_register = on_register

    async def RegisterDiscoveryHandler(  # noqa: N802 (gRPC method name)
        self, request: _Request, context: grpc.aio.ServicerContext[_Request, discovery_pb2.Empty]
    ) -> discovery_pb2.Empty:
        try:
            endpoint = endpoint_from_request(request)
        except InvalidRegistrationError as err:
            log.warning("registration_rejected", reason=str(err))
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        self._on_register(endpoint)
        return discovery_pb2.Empty()


class RegistrationServer:
    """Serves registrations on ``<directory>/agent-registration.sock`` while entered."""

    def __init__(self, directory: Path, *, on_register: Callable[[Endpoint], None]) -> None:
        self.path = directory / SOCKET_NAME
        self._on_register = on_register
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        server = grpc.aio.server()
        discovery_pb2_grpc.add_RegistrationServicer_to_server(_Servicer(self._on_register), server)
        server.add_insecure_port(f"unix://{self.path}")
        await server.start()
        os.chmod(self.path, SOCKET_MODE)
        self._server = server
        log.info("registration_serving", socket=str(self.path))

    async def stop(self, grace: float = 1.0) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def __aenter__(self) -> RegistrationServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
