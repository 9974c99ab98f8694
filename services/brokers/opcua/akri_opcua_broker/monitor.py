"""The broker's OPC UA side: a session with the Instance's server and a subscription to one node.

``NodeMonitor.run`` connects (with security policy Basic256Sha256 and SignAndEncrypt when given
client credentials, else policy None), reads the
node once, subscribes to its data changes and keeps the latest value. When the connection drops
it connects again with capped exponential back-off; every connect is bounded by a timeout. The
latest value is kept across reconnections and reported with whether the session is live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import structlog
from asyncua import ua
from asyncua.client.client import Client
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.crypto.uacrypto import CertProperties
from asyncua.ua.uaerrors import UaError

from akri_common.backoff import delay
from akri_opcua_broker.credentials import ClientCredentials
from akri_opcua_broker.settings import BrokerSettings

log = structlog.get_logger(__name__)
# asyncua logs each lost connection as an error with a traceback; the monitor logs its own events.
logging.getLogger("asyncua").setLevel(logging.CRITICAL)

_DETAIL_LIMIT = 160


@dataclass(frozen=True)
class Reading:
    """The latest value of the node (as the server sent it) and whether the session is live."""

    value: object
    live: bool


class NodeMonitor:
    """Keeps ``latest`` up to date with the monitored node for as long as ``run`` runs."""

    def __init__(
        self, settings: BrokerSettings, *, credentials: ClientCredentials | None = None
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.latest: Reading | None = None
        self.sessions = 0
        self.changed = asyncio.Event()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._session()
                failures = 0
            except (OSError, ConnectionError, TimeoutError, UaError) as err:
                failures += 1
                log.warning(
                    "opcua_session_failed",
                    url=self.settings.server_url,
                    node=self.settings.node_id,
                    error=_short(err),
                    failures=failures,
                )
            if self.latest is not None:
                self.latest = Reading(self.latest.value, live=False)
            await asyncio.sleep(delay(max(failures, 1), initial=0.2, cap=5.0))

    # asyncua calls this for every data change of a subscribed node.
    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.latest = Reading(val, live=True)
        self.changed.set()
        log.debug("opcua_value_changed", node=self.settings.node_id, value=str(val)[:40])

    async def _session(self) -> None:
        settings = self.settings
        client = Client(settings.server_url, timeout=settings.call_timeout_seconds)
        lost = asyncio.Event()
        try:
            async with asyncio.timeout(settings.call_timeout_seconds * 2):
                await self._secure(client)  # asks the server for its certificate first
                await client.connect()
            protocol = client.uaclient.protocol
            if protocol is not None:
                asyncua_hook = protocol.on_connection_lost

                def on_lost(exc: Exception | None) -> None:
                    if asyncua_hook is not None:
                        asyncua_hook(exc)
                    lost.set()

                protocol.on_connection_lost = on_lost
            node = client.get_node(settings.node_id)
            async with asyncio.timeout(settings.call_timeout_seconds):
                self.latest = Reading(await node.read_value(), live=True)
                self.changed.set()
                subscription = await client.create_subscription(settings.sampling_interval_ms, self)
                await subscription.subscribe_data_change(node)
            self.sessions += 1
            log.info("opcua_subscribed", url=settings.server_url, node=settings.node_id)
            await lost.wait()
            log.warning("opcua_connection_lost", url=settings.server_url)
        finally:
            with contextlib.suppress(OSError, ConnectionError, TimeoutError, UaError):
                async with asyncio.timeout(settings.call_timeout_seconds):
                    await client.disconnect()

    async def _secure(self, client: Any) -> None:
        credentials = self.credentials
        if credentials is None:
            return
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            certificate=CertProperties(credentials.certificate_der),
            private_key=CertProperties(credentials.key_der),  # bytes: read as DER
            mode=ua.MessageSecurityMode.SignAndEncrypt,
        )


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= _DETAIL_LIMIT else f"{text[: _DETAIL_LIMIT - 3]}..."
