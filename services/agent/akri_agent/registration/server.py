"""The ``v0.Registration`` server that discovery handlers register with.

It listens on ``$DISCOVERY_HANDLERS_DIRECTORY/agent-registration.sock``, checks each request and
hands a plain ``Endpoint`` to ``on_register``. A malformed request gets ``INVALID_ARGUMENT`` naming
the field: a name must be 1 to 63 letters, digits, ``-``, ``_`` or ``.``, starting and ending with
a letter or digit (a Kubernetes label value, which every upstream handler name is), and a Unix
socket must lie inside the handlers directory (the agent dials nothing else on the node).

Whoever can connect to this socket can register a handler and so receive the details and the
resolved Secrets of every Configuration naming it: the socket must be reachable by the node's
handlers only. So, whatever the process's umask: the directory, when the agent creates it, is
``0750``; the socket is bound inside a private ``0700`` directory, made ``0660`` there and only then
renamed into place, so there is no moment when anyone else could connect. Against floods of idle
connections, gRPC's handshake must finish within ``HANDSHAKE_TIMEOUT_MS``, a connection without
calls is closed after ``IDLE_TIMEOUT_MS``, at most ``MAX_CONNECTIONS`` are accepted at once, and
the process's soft limit of open files is raised to its hard limit at start.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import stat
import tempfile
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
DIRECTORY_MODE = 0o750
HANDSHAKE_TIMEOUT_MS = 5_000
IDLE_TIMEOUT_MS = 30_000
MAX_CONNECTIONS = 256
MAX_NAME_LENGTH = 63
NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
SERVER_OPTIONS = (
    ("grpc.server_handshake_timeout_ms", HANDSHAKE_TIMEOUT_MS),
    ("grpc.max_connection_idle_ms", IDLE_TIMEOUT_MS),
    ("grpc.max_allowed_incoming_connections", MAX_CONNECTIONS),
)
_Request = discovery_pb2.RegisterDiscoveryHandlerRequest


class InvalidRegistrationError(ValueError):
    def __init__(self, field: str, value: object, reason: str) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}: {reason} (got {shown})")


def endpoint_from_request(request: _Request, *, directory: Path | None = None) -> Endpoint:
    """The endpoint a registration describes, or ``InvalidRegistrationError`` naming the field.

    With ``directory``, a Unix socket must lie inside it (after resolving ``..``)."""
    if not request.name:
        raise InvalidRegistrationError("name", request.name, "must not be empty")
    if len(request.name) > MAX_NAME_LENGTH or not NAME.fullmatch(request.name):
        raise InvalidRegistrationError(
            "name",
            request.name,
            f"must be 1 to {MAX_NAME_LENGTH} letters, digits, '-', '_' or '.',"
            " starting and ending with a letter or digit",
        )
    address = request.endpoint
    if request.endpoint_type == _Request.EndpointType.UDS:
        if not address.startswith("/"):
            raise InvalidRegistrationError("endpoint", address, "a UDS endpoint must be absolute")
        if "\x00" in address:
            raise InvalidRegistrationError("endpoint", address, "must not contain NUL")
        if directory is not None and not _inside(Path(address), directory):
            raise InvalidRegistrationError(
                "endpoint", address, f"a UDS endpoint must be inside {directory}"
            )
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


def _inside(path: Path, directory: Path) -> bool:
    return Path(os.path.normpath(directory.absolute())) in Path(os.path.normpath(path)).parents


class _Servicer(discovery_pb2_grpc.RegistrationServicer):
    def __init__(self, on_register: Callable[[Endpoint], None], directory: Path) -> None:
        self._on_register = on_register
        self._directory = directory

    async def RegisterDiscoveryHandler(  # noqa: N802 (gRPC method name)
        self, request: _Request, context: grpc.aio.ServicerContext[_Request, discovery_pb2.Empty]
    ) -> discovery_pb2.Empty:
        try:
            endpoint = endpoint_from_request(request, directory=self._directory)
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
        directory = self.path.parent
        _make_directory(directory)
        raise_open_files_limit()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        server = grpc.aio.server(options=SERVER_OPTIONS)
        discovery_pb2_grpc.add_RegistrationServicer_to_server(
            _Servicer(self._on_register, directory), server
        )
        # Bound and made 0660 where nobody else can reach it, then moved into place.
        private = Path(tempfile.mkdtemp(prefix=".registration-", dir=directory))
        try:
            staged = private / SOCKET_NAME
            server.add_insecure_port(f"unix://{staged}")
            await server.start()
            os.chmod(staged, SOCKET_MODE)
            os.rename(staged, self.path)
        except BaseException:
            await server.stop(None)
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(private / SOCKET_NAME)
            os.rmdir(private)
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


def _make_directory(directory: Path) -> None:
    """Creates the handlers directory ``0750`` (whatever the umask: it only removes bits); an
    existing one is left as it is, with a warning when anyone may write to it."""
    for parent in reversed([directory, *directory.parents]):
        with contextlib.suppress(FileExistsError):
            os.mkdir(parent, DIRECTORY_MODE)
    mode = directory.stat().st_mode
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        log.warning(
            "handlers_directory_world_writable",
            directory=str(directory),
            mode=oct(stat.S_IMODE(mode)),
        )


def raise_open_files_limit() -> int:
    """Raises this process's soft limit of open files to its hard limit; returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as err:
            log.warning("open_files_limit_unchanged", soft=soft, hard=hard, error=str(err))
            return soft
        return hard
    return soft
