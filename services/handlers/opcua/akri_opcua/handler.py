"""The OPC UA ``DiscoveryHandler``: ``opcua``, shared, discovery URLs in, live servers out."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping

import structlog

from akri_handler_sdk import Device
from akri_opcua.details import OpcuaDetails, parse_details
from akri_opcua.settings import OpcuaSettings
from akri_opcua.tracker import ServerTracker

log = structlog.get_logger(__name__)

NAME = "opcua"


class OpcuaHandler:
    """Finds OPC UA servers through ``FindServers`` on servers and Local Discovery Servers."""

    name = NAME
    shared = True

    def __init__(self, *, settings: OpcuaSettings | None = None) -> None:
        self.settings = settings if settings is not None else OpcuaSettings()

    def parse_details(self, details: str, properties: Mapping[str, bytes | None]) -> OpcuaDetails:
        return parse_details(details)

    async def discover(self, details: OpcuaDetails) -> AsyncGenerator[tuple[Device, ...], None]:
        """The servers after the first round, then after every round that changes them."""
        log.info(
            "opcua_discovery_started",
            discovery_urls=list(details.discovery_urls),
            refresh_interval=self.settings.refresh_interval_seconds,
        )
        async with ServerTracker(details, settings=self.settings) as tracker:
            async for devices in tracker.lists():
                yield devices
