"""The ONVIF discovery handler: IP cameras found by WS-Discovery and described over ONVIF SOAP.

Registers as ``onvif`` (shared). WS-Discovery probes, plus Hello and Bye announcements, find
cameras (``multicast``, ``messages``, ``tracker``), within the address policy of ``xaddrs``;
``describer`` asks each, through small SOAP envelopes (``soap``, ``device_service``, ``media``)
over HTTP (``soap_http``, which answers HTTP Digest), for its clock, IP, MAC and media profiles;
``reasons``
says why a camera that answered is not listed; ``filters`` and ``credentials`` follow upstream's
``discoveryDetails`` and ``discoveryProperties``.
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
