"""The OPC UA discovery handler: servers found through ``FindServers`` on servers and LDSs.

Registers as ``opcua`` (shared). ``details`` parses upstream's ``discoveryDetails``; ``servers``
holds upstream's decisions (application type, ``applicationNames`` filter, which URL, the host
rebuild of issue #555); ``inventory`` builds the devices; ``tracker`` runs the rounds over held-open
secure channels (``link``), which speak OPC UA through ``binary``: a client of its own for Hello,
OpenSecureChannel (policy None, no session), FindServers, GetEndpoints and CloseSecureChannel, on
the standard library only. The handler never imports asyncua (the sample broker and the tests do).
"""

from akri_opcua.details import FilterAction, FilterList, OpcuaDetails, parse_details
from akri_opcua.handler import OpcuaHandler
from akri_opcua.settings import OpcuaSettings

__all__ = [
    "FilterAction",
    "FilterList",
    "OpcuaDetails",
    "OpcuaHandler",
    "OpcuaSettings",
    "parse_details",
]
