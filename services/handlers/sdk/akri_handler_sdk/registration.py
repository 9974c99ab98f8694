"""Registering with the agent, retrying while it is absent and registering again when it comes back.

The registrar calls ``v0.Registration/RegisterDiscoveryHandler`` on
``$DISCOVERY_HANDLERS_DIRECTORY/agent-registration.sock``. While the agent is absent it retries with
capped exponential back-off (every call and every wait bounded). Once registered it keeps the channel
open and registers again, at once, when any of these happens:

* the registration channel leaves READY (the agent process exited or closed its server),
* ``agent-registration.sock`` is created again (a new agent bound it; seen through inotify),
* the servicer reports that the agent dropped a ``Discover`` stream.

A socket re-creation or a dropped stream also cuts short a back-off wait, so a restarted agent sees
the handler again within a fraction of a second (upstream issue #558 is the failure avoided).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import structlog

from akri_common.backoff import delay
from akri_common.filewatch import WatchError, file_changes
from akri_handler_sdk.endpoints import Endpoint
from akri_proto.discovery.v0 import discovery_pb2 as pb
from akri_proto.discovery.v0 import discovery_pb2_grpc as pb_grpc

log = structlog.get_logger(__name__)

#: Keep the registration channel connected while idle: leaving READY must mean the agent went away.
_CHANNEL_OPTIONS = [
    # Each attempt's channel gets its own subchannel: with gRPC's global pool a new channel would
    # inherit the reconnect back-off of the previous attempts' failed connection and keep failing
    # for up to max_reconnect_backoff after the agent is back.
    ("grpc.use_local_subchannel_pool", 1),
    ("grpc.client_idle_timeout_ms", 2**31 - 1),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


@dataclass(frozen=True)
class Backoff:
    """Capped exponential back-off: ``initial``, doubling, never above ``cap`` (seconds)."""

    initial: float = 0.1
    cap: float = 2.0

    def delays(self) -> Iterator[float]:
        for failures in itertools.count(1):
            yield delay(failures, initial=self.initial, cap=self.cap)


def registration_request(
    *, name: str, endpoint: Endpoint, shared: bool
) -> pb.RegisterDiscoveryHandlerRequest:
    kind = pb.RegisterDiscoveryHandlerRequest
    return kind(
        name=name,
        endpoint=endpoint.registered,
        endpoint_type=kind.NETWORK if endpoint.network else kind.UDS,
        shared=shared,
    )


class Registrar:
    """Keeps one handler endpoint registered with the node's agent for as long as ``run`` runs."""

    def __init__(
        self,
        *,
        socket_path: Path,
        name: str,
        endpoint: Endpoint,
        shared: bool,
        backoff: Backoff | None = None,
        call_timeout: float = 1.0,
    ) -> None:
        self._socket_path = socket_path
        self._target = f"unix://{socket_path.absolute()}"
        self._request = registration_request(name=name, endpoint=endpoint, shared=shared)
        self._backoff = backoff or Backoff()
        self._call_timeout = call_timeout
        self._poke = asyncio.Event()
        self._poke_reason = ""
        #: Successful registrations so far, and failed attempts since the last success.
        self.registrations = 0
        self.failures = 0
        #: Set while registered with a live agent, cleared when re-registration starts.
        self.registered = asyncio.Event()

    def notify_stream_dropped(self) -> None:
        """Called by the servicer when the agent dropped a ``Discover`` stream."""
        self._wake("stream_dropped")

    def _wake(self, reason: str) -> None:
        self._poke_reason = reason
        self._poke.set()

    async def run(self) -> None:
        """Registers, then re-registers on every sign of a new or absent agent; runs until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._watch_socket_file(), name="registration-socket-watch")
            tasks.create_task(self._keep_registered(), name="registration-loop")

    async def _keep_registered(self) -> None:
        while True:
            channel = await self._register_until_done()
            try:
                await self._wait_for_trigger(channel)
            finally:
                await channel.close()

    async def _register_until_done(self) -> Any:
        delays = self._backoff.delays()
        attempt = 0
        while True:
            attempt += 1
            channel = grpc.aio.insecure_channel(self._target, options=_CHANNEL_OPTIONS)
            try:
                stub = pb_grpc.RegistrationStub(channel)
                await stub.RegisterDiscoveryHandler(self._request, timeout=self._call_timeout)
            except grpc.aio.AioRpcError as err:
                await channel.close()
                self.failures += 1
                delay = next(delays)
                log.debug(
                    "registration_failed",
                    handler=self._request.name,
                    code=err.code().name,
                    attempt=attempt,
                    retry_in=delay,
                )
                if await self._sleep_unless_poked(delay):
                    delays = self._backoff.delays()  # a new agent socket: start again from fast
                continue
            except BaseException:
                await channel.close()
                raise
            self._poke.clear()
            self.registrations += 1
            self.failures = 0
            self.registered.set()
            log.info(
                "registered",
                handler=self._request.name,
                endpoint=self._request.endpoint,
                shared=self._request.shared,
                attempts=attempt,
            )
            return channel

    async def _sleep_unless_poked(self, delay: float) -> bool:
        """Waits ``delay`` seconds or until poked; True when poked."""
        try:
            async with asyncio.timeout(delay):
                await self._poke.wait()
        except TimeoutError:
            return False
        self._poke.clear()
        return True

    async def _wait_for_trigger(self, channel: Any) -> None:
        registered_at = time.monotonic()
        left_ready = asyncio.ensure_future(_leaves_ready(channel))
        poked = asyncio.ensure_future(self._poke.wait())
        try:
            done, _ = await asyncio.wait({left_ready, poked}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (left_ready, poked):
                waiter.cancel()
            await asyncio.gather(left_ready, poked, return_exceptions=True)
        reason = "agent_connection_lost" if left_ready in done else self._poke_reason
        self.registered.clear()
        log.info(
            "reregistering",
            handler=self._request.name,
            reason=reason,
            registered_for=round(time.monotonic() - registered_at, 3),
        )

    async def _watch_socket_file(self) -> None:
        """Pokes the registrar whenever the agent's registration socket (re)appears."""
        try:
            changes = file_changes(self._socket_path)
            async with contextlib.aclosing(changes):
                first = True
                async for _ in changes:
                    if first:
                        first = False
                        continue
                    if self._socket_path.exists():
                        self._wake("agent_socket_created")
        except WatchError as err:
            # Registration still works through the channel state and dropped streams.
            log.warning("agent_socket_unwatched", path=str(self._socket_path), error=str(err))


async def _leaves_ready(channel: Any) -> None:
    """Returns once the channel is no longer READY (connection to the agent lost)."""
    state = channel.get_state(try_to_connect=False)
    while state == grpc.ChannelConnectivity.READY:
        await channel.wait_for_state_change(state)
        state = channel.get_state(try_to_connect=False)
