"""ONVIF device-management calls through zeep: liveness and the camera's IP and MAC address.

zeep builds each request from the vendored ``devicemgmt.wsdl`` (adding a WS-Security UsernameToken
digest when a credential exists) and parses each reply, SOAP faults included; the bytes travel over
``http_post`` on the event loop, each call bounded by a timeout. The WSDL is parsed once per process,
on first use, so that a handler that is never asked to discover does not pay for zeep.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from akri_onvif.credentials import Credential
from akri_onvif.http_post import HttpError, HttpReply, UnsupportedUrlError, post

WSDL = Path(__file__).parent / "wsdl" / "devicemgmt.wsdl"
DEVICE_WSDL_NS = "http://www.onvif.org/ver10/device/wsdl"
BINDING = f"{{{DEVICE_WSDL_NS}}}DeviceBinding"
PLACEHOLDER_ADDRESS = "http://camera.invalid/onvif/device_service"
DEFAULT_CALL_TIMEOUT = 1.0
_FAULT_TEXT_LIMIT = 120


class DescriptionError(Exception):
    """A device-service call failed. ``kind`` says how: ``unreachable`` (no HTTP exchange; it may
    come back), ``unsupported`` (not an ``http://`` URL), ``malformed`` (not a SOAP reply),
    ``fault`` (a SOAP fault or HTTP error) or ``not_authorized`` (credential missing or wrong)."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}")


@dataclass(frozen=True)
class NetworkFacts:
    """What ``GetNetworkInterfaces`` tells: the first IPv4 address and the first MAC address."""

    ip: str | None
    mac: str | None


class DeviceService:
    """The ONVIF device service of any camera, through one parsed WSDL."""

    def __init__(self, *, call_timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self.call_timeout = call_timeout
        self._zeep = _load_client()

    async def check_alive(self, url: str) -> None:
        """``GetSystemDateAndTime`` without credentials (ONVIF allows it); raises
        ``DescriptionError`` unless it answers HTTP 200 with a valid reply."""
        await self._call(url, "GetSystemDateAndTime", None)

    async def network_facts(self, url: str, credential: Credential | None) -> NetworkFacts:
        """``GetNetworkInterfaces`` (with a UsernameToken digest when given a credential)."""
        interfaces = await self._call(url, "GetNetworkInterfaces", credential)
        return facts_from_interfaces(interfaces or ())

    async def _call(self, url: str, operation: str, credential: Credential | None) -> Any:
        body, headers = self._zeep.request(operation, credential)
        try:
            reply = await post(url, body, headers=headers, timeout=self.call_timeout)
        except UnsupportedUrlError as err:
            raise DescriptionError("unsupported", str(err)) from None
        except HttpError as err:
            raise DescriptionError("unreachable", str(err)) from None
        return self._zeep.reply(operation, reply)


class _ZeepDevice:
    """zeep's client and binding for ``devicemgmt.wsdl``, used to build and read messages only."""

    def __init__(self) -> None:
        import zeep  # noqa: PLC0415 - loaded on first use to keep an idle handler small
        from zeep.transports import Transport  # noqa: PLC0415

        class OfflineTransport(Transport):  # type: ignore[misc]
            """Loads only the vendored files: a WSDL import over the network is refused."""

            def load(self, url: str) -> bytes:
                if "://" in url and not url.startswith("file://"):
                    raise OSError(f"refusing to fetch {url} (the WSDL is vendored)")
                return super().load(url)  # type: ignore[no-any-return]

        # zeep's own debug records (every schema type, every document) would drown the handler's.
        logging.getLogger("zeep").setLevel(max(logging.INFO, logging.getLogger().level))
        settings = zeep.Settings(strict=False, forbid_dtd=True, forbid_entities=True)
        self.client = zeep.Client(str(WSDL), transport=OfflineTransport(), settings=settings)
        self.binding = self.client.wsdl.bindings[BINDING]
        self.service = self.client.create_service(BINDING, PLACEHOLDER_ADDRESS)

    def request(
        self, operation: str, credential: Credential | None
    ) -> tuple[bytes, dict[str, str]]:
        from lxml import etree  # noqa: PLC0415
        from zeep.wsse.username import UsernameToken  # noqa: PLC0415

        envelope = self.client.create_message(self.service, operation)
        if credential is not None:
            token = UsernameToken(credential.username, credential.password, use_digest=True)
            envelope, _ = token.apply(envelope, {})
        action = f"{DEVICE_WSDL_NS}/{operation}"
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8"), headers

    def reply(self, operation: str, reply: HttpReply) -> Any:
        from lxml.etree import LxmlError  # noqa: PLC0415
        from zeep.exceptions import Error, Fault, TransportError  # noqa: PLC0415

        if reply.status_code == 401:
            raise DescriptionError("not_authorized", "HTTP 401")
        try:
            return self.binding.process_reply(self.client, self.binding.get(operation), reply)
        except Fault as fault:
            raise fault_error(fault.code, fault.subcodes, fault.message) from None
        except TransportError as err:
            kind = "malformed" if err.content is not None else "fault"
            raise DescriptionError(
                kind, f"HTTP {reply.status_code}, invalid or empty XML"
            ) from None
        except (Error, LxmlError, ValueError, AttributeError) as err:
            raise DescriptionError("malformed", f"{type(err).__name__}") from None


@functools.cache
def _load_client() -> _ZeepDevice:
    return _ZeepDevice()


def fault_error(code: Any, subcodes: Iterable[Any] | None, message: Any) -> DescriptionError:
    """A ``DescriptionError`` for a SOAP fault: ``not_authorized`` for ``ter:NotAuthorized``."""
    names = [getattr(q, "localname", str(q)).rsplit(":", 1)[-1] for q in subcodes or ()]
    text = " ".join(str(message or "").split())[:_FAULT_TEXT_LIMIT]
    if "NotAuthorized" in names:
        return DescriptionError("not_authorized", f"SOAP fault NotAuthorized {text}".strip())
    return DescriptionError("fault", f"SOAP fault {code} {'/'.join(names)} {text}".strip())


def facts_from_interfaces(interfaces: Iterable[Any]) -> NetworkFacts:
    """The first IPv4 address (Manual, then LinkLocal, then FromDHCP, as in the document) and the
    first hardware address across the reported interfaces."""
    ip: str | None = None
    mac: str | None = None
    for interface in interfaces:
        if mac is None:
            mac = _clean(getattr(getattr(interface, "Info", None), "HwAddress", None))
        config = getattr(getattr(interface, "IPv4", None), "Config", None)
        if ip is None and config is not None:
            candidates = [
                *(getattr(config, "Manual", None) or ()),
                getattr(config, "LinkLocal", None),
                getattr(config, "FromDHCP", None),
            ]
            ip = next(
                (a for a in (_clean(getattr(c, "Address", None)) for c in candidates) if a), None
            )
    return NetworkFacts(ip=ip, mac=mac)


def _clean(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()
