"""``akri discover``: run a Configuration's discovery on this machine and print its Instances.

With ``--endpoint`` it calls that handler directly; otherwise it hosts the agent's registration
socket in ``--handlers-dir`` and waits for handlers to register, exactly as the agent would. It uses
the agent's own discovery core, so what it prints is what the agent would create on ``--node``.
Exit codes: 0 printed (or watched until interrupted), 1 no handler answered, 2 bad input.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from akri_agent.discovery.errors import InvalidDiscoveryDetailsError, UnresolvedPropertyError
from akri_agent.discovery.manager import ConfigurationKey, DiscoveryManager, DiscoveryState
from akri_agent.discovery.model import Endpoint, EndpointKind
from akri_agent.registration.server import RegistrationServer
from akri_cli.render import document, dump
from akri_common import safe_yaml
from akri_common.crds.configuration import Configuration, parse_configuration
from akri_common.crds.errors import InvalidResourceError
from akri_common.ids import HandlerName, NodeName


class CommandError(Exception):
    """Ends the command with one line on stderr and an exit code."""

    def __init__(self, exit_code: int, message: str) -> None:
        self.exit_code = exit_code
        super().__init__(message)


@dataclass(frozen=True)
class DiscoverOptions:
    file: Path
    node: NodeName
    handlers_dir: Path
    endpoint: str | None = None
    shared: bool = False
    watch: bool = False
    fmt: str = "yaml"
    timeout: float = 10.0


def load_configuration(path: Path) -> Configuration:
    """The single Configuration in a YAML or JSON file, or a ``CommandError`` (exit 2).

    The file is read with the shared safe YAML reader: text that is not UTF-8, alias explosions,
    deep nesting and huge integers are refused in one line, like any other bad input."""
    try:
        with path.open("rb") as file:
            text = file.read(safe_yaml.DEFAULT_LIMITS.max_characters + 1)
    except OSError as err:
        raise CommandError(2, f"{path}: cannot read: {err.strerror}") from err
    if len(text) > safe_yaml.DEFAULT_LIMITS.max_characters:
        raise CommandError(
            2, f"{path}: larger than {safe_yaml.DEFAULT_LIMITS.max_characters} bytes"
        )
    try:
        documents = [d for d in safe_yaml.load_all(text) if d is not None]
    except safe_yaml.UnsafeYamlError as err:
        raise CommandError(2, f"{path}: not valid YAML: {_one_line(err)}") from err
    if len(documents) != 1:
        raise CommandError(
            2, f"{path}: expected one Configuration, found {len(documents)} documents"
        )
    try:
        return parse_configuration(documents[0])
    except InvalidResourceError as err:
        raise CommandError(2, f"{path}: {err}") from err


def endpoint_from_option(value: str, *, handler: HandlerName, shared: bool) -> Endpoint:
    parts = urlsplit(value)
    if parts.scheme == "unix" and parts.path.startswith("/"):
        return Endpoint(handler=handler, address=parts.path, kind=EndpointKind.UDS, shared=shared)
    if parts.scheme == "http" and parts.hostname and parts.port:
        return Endpoint(handler=handler, address=value, kind=EndpointKind.NETWORK, shared=shared)
    raise CommandError(
        2, f"--endpoint: expected unix:///path/to.sock or http://host:port (got {value!r})"
    )


async def discover(options: DiscoverOptions, out: TextIO) -> None:
    configuration = load_configuration(options.file)
    handler = configuration.discovery_handler.name
    direct = (
        None
        if options.endpoint is None
        else endpoint_from_option(options.endpoint, handler=handler, shared=options.shared)
    )
    wake = asyncio.Event()
    stop = asyncio.Event()
    manager = DiscoveryManager(node=options.node, on_change=lambda _key: wake.set())
    key = ConfigurationKey.of(configuration)
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(manager.close)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
            stack.callback(loop.remove_signal_handler, signum)
        try:
            await manager.apply(configuration)
        except UnresolvedPropertyError as err:
            raise CommandError(2, f"{options.file}: {err}") from err
        if direct is not None:
            manager.register(direct)
        else:
            await stack.enter_async_context(
                RegistrationServer(options.handlers_dir, on_register=manager.register)
            )
        await _follow(manager, key, options=options, direct=direct, wake=wake, stop=stop, out=out)


async def _follow(
    manager: DiscoveryManager,
    key: ConfigurationKey,
    *,
    options: DiscoverOptions,
    direct: Endpoint | None,
    wake: asyncio.Event,
    stop: asyncio.Event,
    out: TextIO,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + options.timeout
    printed: dict[str, Any] | None = None
    while not stop.is_set():
        wake.clear()
        state = manager.state(key)
        assert state is not None, "the request was applied above"
        _fail_on_errors(state, direct=direct)
        if printed is not None or _complete(state):
            doc = document(state, node=options.node)
            if doc != printed:
                out.write(dump(doc, fmt=options.fmt))
                out.flush()
                printed = doc
            if not options.watch:
                return
        remaining = None if printed is not None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            raise CommandError(1, _nothing_heard(state, options=options))
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)


def _complete(state: DiscoveryState) -> bool:
    """Every endpoint registered for the handler has sent its first list."""
    return bool(state.endpoints) and state.reporting == len(state.endpoints)


def _fail_on_errors(state: DiscoveryState, *, direct: Endpoint | None) -> None:
    for error in state.errors:
        if isinstance(error, InvalidDiscoveryDetailsError):
            raise CommandError(2, str(error))
    if direct is not None and not state.endpoints:
        raise CommandError(1, f"discovery handler at {direct.address} is unreachable")


def _nothing_heard(state: DiscoveryState, *, options: DiscoverOptions) -> str:
    handler = state.configuration.discovery_handler.name
    if options.endpoint is not None:
        return f"discovery handler at {options.endpoint} sent no device list within {options.timeout:g}s"
    if not state.endpoints:
        return (
            f"no discovery handler named {handler!r} registered in {options.handlers_dir}"
            f" within {options.timeout:g}s"
        )
    return f"discovery handler {handler!r} sent no device list within {options.timeout:g}s"


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
