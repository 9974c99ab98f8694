"""The Akri-py discovery-handler SDK: implement ``DiscoveryHandler`` and call ``run``.

A handler parses a Configuration's ``discoveryDetails`` and yields its complete device list whenever
it changes; the SDK serves ``v0.DiscoveryHandler`` on ``$DISCOVERY_HANDLERS_DIRECTORY/<name>.sock``
(or ``POD_IP:port``), registers with the agent, re-registers when the agent restarts or drops a
stream, and sends only changes. ``akri_handler_sdk.testing`` helps test a handler over real gRPC.
"""

from akri_common.devices import Device, DeviceSpec, Mount
from akri_common.filewatch import WatchError, file_changes
from akri_handler_sdk.errors import InvalidDetailsError, ServeError
from akri_handler_sdk.protocol import DiscoveryHandler
from akri_handler_sdk.registration import Backoff, Registrar
from akri_handler_sdk.runner import run
from akri_handler_sdk.server import Serving, serve, serving
from akri_handler_sdk.settings import HandlerSettings

__all__ = [
    "Backoff",
    "Device",
    "DeviceSpec",
    "DiscoveryHandler",
    "HandlerSettings",
    "InvalidDetailsError",
    "Mount",
    "Registrar",
    "ServeError",
    "Serving",
    "WatchError",
    "file_changes",
    "run",
    "serve",
    "serving",
]
