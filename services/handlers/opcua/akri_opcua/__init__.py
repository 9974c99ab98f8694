"""The OPC UA discovery handler: servers found through ``FindServers`` on servers and LDSs.

Registers as ``opcua`` (shared). ``details`` parses upstream's ``discoveryDetails``; ``servers``
holds upstream's decisions (application type, ``applicationNames`` filter, which URL, the host
rebuild of issue #555); ``inventory`` builds the devices; ``tracker`` runs the rounds over held-open
secure channels (``link``, the only importer of asyncua, loaded on the first ``Discover``).
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
