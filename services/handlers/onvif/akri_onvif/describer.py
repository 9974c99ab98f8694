"""Describing one camera's device service URL: liveness, authentication, clock, IP, MAC, media.

* ``GetSystemDateAndTime`` without a credential first. A valid answer gives the camera's clock
  (its offset stamps later UsernameTokens). A 401 with a Digest challenge, or a SOAP
  ``NotAuthorized`` fault, says the camera wants a credential on every call: the call is made
  again with it (UsernameToken, and Digest when challenged); credentials are sent to no other
  kind of answer, and a URL that wanted one gets it at once from then on.
* ``GetNetworkInterfaces`` (with the credential when one exists) when the IP and MAC are not
  known yet: a camera without that call is listed with the XAddr host as its IP and no MAC; a
  refused credential leaves them unknown, as upstream does.
* With ``describeMedia``, the media profiles (``media``).

Every failure is logged once per URL and kind (until that URL works again), sets the URL's
not-listed reason when it keeps the camera out, and is tried again at the next round; nothing a
camera answers can raise past ``describe``. Credentials never reach a log line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import structlog

from akri_onvif.credentials import Credential, CredentialStore
from akri_onvif.details import OnvifDetails
from akri_onvif.device_service import (
    Auth,
    DescriptionError,
    DeviceService,
    NetworkFacts,
    new_auth,
)
from akri_onvif.inventory import UNKNOWN, Camera, needs_network_facts
from akri_onvif.media import NO_MEDIA, MediaReader
from akri_onvif.messages import Endpoint
from akri_onvif.reasons import NotListed, Reason, ReasonLog, from_error
from akri_onvif.xaddrs import ipv4_host

log = structlog.get_logger(__name__)


@dataclass
class UrlState:
    """What one service URL taught: whether it wants a credential on every call, its clock
    offset (camera - local), and its ``Auth`` (one Digest middleware per URL, reused so that
    later calls authenticate at once)."""

    needs_auth: bool = False
    clock_offset: timedelta = timedelta(0)
    auth: Auth | None = None

    def auth_for(self, credential: Credential) -> Auth:
        if self.auth is None or self.auth.credential != credential:
            self.auth = new_auth(credential, self.clock_offset)
        elif self.auth.clock_offset != self.clock_offset:
            self.auth = replace(self.auth, clock_offset=self.clock_offset)
        return self.auth


class Describer:
    """Describes camera URLs for one ``Discover``, with at most ``max_calls`` calls in flight."""

    def __init__(
        self,
        service: DeviceService,
        *,
        details: OnvifDetails,
        credentials: CredentialStore,
        reasons: ReasonLog,
        allow_local: bool,
        max_calls: int,
    ) -> None:
        self.service = service
        self.details = details
        self.credentials = credentials
        self.reasons = reasons
        self.allow_local = allow_local
        self._calls = asyncio.Semaphore(max_calls)
        self._urls: dict[str, UrlState] = {}
        self._warned: set[tuple[str, str]] = set()

    def keep_only(self, urls: set[str]) -> None:
        """Forgets what was learnt about URLs no tracked camera has any more."""
        self._urls = {url: state for url, state in self._urls.items() if url in urls}

    async def describe(
        self, endpoint: Endpoint, url: str, previous: Camera | None
    ) -> NetworkFacts | None:
        """The URL's facts when it is alive (IP and MAC possibly unknown), else None (and its
        reason is set). Any failure, expected or not, is logged once and tried again next round."""
        try:
            return await self._describe(endpoint, url, previous)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a camera's reply must never end the stream
            self._warn_once(
                url,
                DescriptionError("malformed", f"{type(err).__name__}: {str(err)[:120]}"),
                uuid=endpoint.uuid,
                call="describe",
            )
            self.reasons.set(
                endpoint.uuid, url, NotListed(Reason.NOT_ONVIF, {"detail": type(err).__name__})
            )
            return None

    async def _describe(
        self, endpoint: Endpoint, url: str, previous: Camera | None
    ) -> NetworkFacts | None:
        state = self._urls.setdefault(url, UrlState())
        credential = self.credentials.for_uuid(endpoint.uuid)
        credential_name = self.credentials.name_for(endpoint.uuid)
        try:
            await self._check_alive(url, state, credential)
        except DescriptionError as err:
            self._warn_once(url, err, uuid=endpoint.uuid, call="GetSystemDateAndTime")
            self.reasons.set(endpoint.uuid, url, from_error(err, credential=credential_name))
            return None
        self._recovered(url, "GetSystemDateAndTime")
        self.reasons.clear(endpoint.uuid, url)
        if not needs_network_facts(previous, url):
            assert previous is not None
            return previous.services[url]
        auth = None if credential is None else state.auth_for(credential)
        try:
            async with self._calls:
                facts = await self.service.network_facts(url, auth)
        except DescriptionError as err:
            self._warn_once(
                url,
                err,
                uuid=endpoint.uuid,
                call="GetNetworkInterfaces",
                credential=credential_name,
            )
            if err.kind in ("not_supported", "fault", "malformed"):
                # No GetNetworkInterfaces: the XAddr's host is the camera's IP; no MAC.
                facts = NetworkFacts(ip=ipv4_host(url), mac=None)
            else:
                return UNKNOWN
        else:
            self._recovered(url, "GetNetworkInterfaces")
        if self.details.describe_media:
            facts = replace(facts, media=await self._media(endpoint, url, auth))
        log.info(
            "onvif_camera_described",
            uuid=endpoint.uuid,
            url=url,
            ip=facts.ip,
            mac=facts.mac,
            credential=credential_name,
            media=len(facts.media),
        )
        return facts

    async def _check_alive(self, url: str, state: UrlState, credential: Credential | None) -> None:
        """``GetSystemDateAndTime``: without a credential first; with it when the camera asked
        for one (a Digest challenge or a SOAP ``NotAuthorized``) and one exists."""
        if not state.needs_auth:
            try:
                async with self._calls:
                    camera_time = await self.service.system_time(url, None)
            except DescriptionError as err:
                if err.kind != "not_authorized" or err.challenge is None:
                    raise
                state.needs_auth = True
                if err.camera_time is not None:
                    state.clock_offset = _offset(err.camera_time)
            else:
                if camera_time is not None:
                    state.clock_offset = _offset(camera_time)
                return
        if credential is None:
            raise DescriptionError("not_authorized", "the camera wants a credential; none is given")
        async with self._calls:
            try:
                camera_time = await self.service.system_time(url, state.auth_for(credential))
            except DescriptionError as err:
                if err.kind == "not_authorized" and err.camera_time is not None:
                    state.clock_offset = _offset(err.camera_time)
                raise
        if camera_time is not None:
            state.clock_offset = _offset(camera_time)

    async def _media(self, endpoint: Endpoint, url: str, auth: Auth | None) -> Mapping[str, str]:
        reader = MediaReader(self.service, allow_local=self.allow_local)
        try:
            async with self._calls:
                media = await reader.describe(url, auth)
        except DescriptionError as err:
            self._warn_once(url, err, uuid=endpoint.uuid, call="describeMedia")
            return NO_MEDIA
        self._recovered(url, "describeMedia")
        return media

    def _warn_once(
        self,
        url: str,
        err: DescriptionError,
        *,
        uuid: str,
        call: str,
        credential: str | None = None,
    ) -> None:
        key = (url, f"{call}:{err.kind}")
        if err.kind == "unreachable" and call == "GetSystemDateAndTime":
            log.debug("onvif_camera_unreachable", uuid=uuid, url=url[:200], detail=err.detail)
            return
        if key in self._warned:
            return
        self._warned.add(key)
        log.warning(
            "onvif_call_failed",
            uuid=uuid[:100],
            url=url[:200],
            call=call,
            kind=err.kind,
            detail=err.detail[:200],
            credential=credential,
        )

    def _recovered(self, url: str, call: str) -> None:
        self._warned = {
            key for key in self._warned if not (key[0] == url and key[1].startswith(call))
        }


def _offset(camera_time: datetime) -> timedelta:
    """The camera's clock minus ours; under two seconds counts as none."""
    offset = camera_time - datetime.now(UTC)
    return offset if abs(offset) >= timedelta(seconds=2) else timedelta(0)
