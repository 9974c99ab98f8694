"""The debugEcho ``DiscoveryHandler``: descriptions in, devices out, gated by the availability file."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path

import structlog

from akri_debug_echo.availability import devices_for, is_online, read_availability
from akri_debug_echo.details import DebugEchoDetails, parse_details
from akri_debug_echo.settings import DebugEchoSettings
from akri_handler_sdk import Device, file_changes

log = structlog.get_logger(__name__)

NAME = "debugEcho"


class DebugEchoHandler:
    """Reports one device per description; none while the availability file says ``OFFLINE``."""

    name = NAME

    def __init__(self, *, shared: bool, availability_file: Path) -> None:
        self.shared = shared
        self.availability_file = availability_file

    @classmethod
    def from_settings(cls, settings: DebugEchoSettings) -> DebugEchoHandler:
        return cls(shared=settings.shared, availability_file=settings.availability_file)

    def parse_details(
        self, details: str, properties: Mapping[str, bytes | None]
    ) -> DebugEchoDetails:
        return parse_details(details)

    async def discover(self, details: DebugEchoDetails) -> AsyncGenerator[tuple[Device, ...], None]:
        """The current list now, then again after every change to the availability file."""
        changes = file_changes(self.availability_file)
        async with contextlib.aclosing(changes):
            async for _ in changes:
                online = is_online(read_availability(self.availability_file))
                log.debug("availability_read", path=str(self.availability_file), online=online)
                yield devices_for(details, online=online)
