"""debugEcho: Akri's test discovery handler, one device per configured description.

Devices go offline (an empty list) while the availability file contains ``OFFLINE`` and come back
when it no longer does; the handler watches the file, so a change is reported at once.
"""

from akri_debug_echo.details import DebugEchoDetails, parse_details
from akri_debug_echo.handler import DebugEchoHandler
from akri_debug_echo.settings import DebugEchoSettings

__all__ = ["DebugEchoDetails", "DebugEchoHandler", "DebugEchoSettings", "parse_details"]
