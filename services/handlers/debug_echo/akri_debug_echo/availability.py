"""Whether debugEcho's devices are online, decided from the availability file's content."""

from __future__ import annotations

from pathlib import Path

from akri_debug_echo.details import DebugEchoDetails
from akri_handler_sdk import Device

OFFLINE_MARKER = "OFFLINE"
DESCRIPTION_PROPERTY = "DEBUG_ECHO_DESCRIPTION"


def is_online(content: str | None) -> bool:
    """Online unless the file exists and contains ``OFFLINE`` (a missing file means online)."""
    return content is None or OFFLINE_MARKER not in content


def devices_for(details: DebugEchoDetails, *, online: bool) -> tuple[Device, ...]:
    """One device per description (id = description), or none while offline."""
    if not online:
        return ()
    return tuple(
        Device(id=description, properties={DESCRIPTION_PROPERTY: description})
        for description in details.descriptions
    )


def read_availability(path: Path) -> str | None:
    """The file's content, or None when it does not exist (or is not a readable file)."""
    try:
        return path.read_text(errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return None
