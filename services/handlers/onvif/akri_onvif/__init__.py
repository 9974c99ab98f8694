"""The ONVIF discovery handler: IP cameras found by WS-Discovery and described over ONVIF SOAP.

Registers as ``onvif`` (shared). WS-Discovery probes, plus Hello and Bye announcements, find
cameras (``multicast``, ``messages``, ``tracker``); zeep with the vendored device-management WSDL
asks each for its IP and MAC address (``device_service``); ``filters`` and ``credentials`` follow
upstream's ``discoveryDetails`` and ``discoveryProperties``.
"""

from akri_onvif.credentials import Credential, CredentialStore, parse_credentials
from akri_onvif.details import FilterAction, FilterList, OnvifDetails, parse_details
from akri_onvif.handler import OnvifHandler, OnvifRequest
from akri_onvif.settings import OnvifSettings

__all__ = [
    "Credential",
    "CredentialStore",
    "FilterAction",
    "FilterList",
    "OnvifDetails",
    "OnvifHandler",
    "OnvifRequest",
    "OnvifSettings",
    "parse_credentials",
    "parse_details",
]
