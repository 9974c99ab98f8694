"""Why a camera that answered is not listed: one reason per camera and URL, logged once, counted.

A user whose camera answered WS-Discovery but is not in the device list gets one log line at info
level, ``onvif_camera_not_listed``, naming the camera (uuid, XAddr) and the reason:

* ``filtered``: a filter of the Configuration (``filter`` names which one) dropped it;
* ``refused_address``: its XAddr is loopback, link-local, unspecified or not ``http://``;
* ``unreachable``: no HTTP exchange within the call timeout;
* ``not_authorized``: the camera wants a credential; ``credential`` names which one was tried
  (the uuid or ``default``; ``none`` when there is none), never its value;
* ``not_onvif``: it answered, but not as an ONVIF device (not SOAP, a fault, an empty Body).

The line is written when a camera's reason appears or changes (not every probe round), and the
counter ``akri_onvif_cameras_not_listed_total{reason}`` on ``/metrics`` counts the same events.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import structlog

from akri_common.prometheus import Registry
from akri_onvif.device_service import DescriptionError

log = structlog.get_logger(__name__)


MAX_REASONS = 4096


class Reason(enum.Enum):
    FILTERED = "filtered"
    REFUSED_ADDRESS = "refused_address"
    UNREACHABLE = "unreachable"
    NOT_AUTHORIZED = "not_authorized"
    NOT_ONVIF = "not_onvif"


#: The handler's ``/metrics``: this counter only (no ``process_*`` figures).
METRICS = Registry()
NOT_LISTED = METRICS.counter(
    "akri_onvif_cameras_not_listed",
    "Cameras that answered WS-Discovery but were not listed, by reason",
    ("reason",),
)


@dataclass(frozen=True)
class NotListed:
    """One camera URL's reason, with its context (filter name, credential name, error detail)."""

    reason: Reason
    context: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def from_error(err: DescriptionError, *, credential: str | None) -> NotListed:
    """The reason for a failed liveness call (``GetSystemDateAndTime``)."""
    detail = {"detail": err.detail[:200]}
    if err.kind == "unreachable":
        return NotListed(Reason.UNREACHABLE, detail)
    if err.kind in ("unsupported", "refused"):
        return NotListed(Reason.REFUSED_ADDRESS, detail)
    if err.kind == "not_authorized":
        return NotListed(
            Reason.NOT_AUTHORIZED, {**detail, "credential": (credential or "none")[:100]}
        )
    return NotListed(Reason.NOT_ONVIF, detail)


class ReasonLog:
    """The current reason of each (uuid, url); logs and counts each new or changed one."""

    def __init__(self, *, configuration: str = "") -> None:
        self._current: dict[tuple[str, str], NotListed] = {}
        self._configuration = configuration

    def set(self, uuid: str, url: str, not_listed: NotListed) -> None:
        key = (uuid, url)
        if self._current.get(key) == not_listed:
            return
        self._current[key] = not_listed
        if len(self._current) > MAX_REASONS:  # the oldest goes; the tracker bounds cameras anyway
            del self._current[next(iter(self._current))]
        NOT_LISTED.labels(reason=not_listed.reason.value).inc()
        log.info(
            "onvif_camera_not_listed",
            uuid=uuid,
            url=url[:200],
            reason=not_listed.reason.value,
            **not_listed.context,
        )

    def clear(self, uuid: str, url: str | None = None) -> None:
        """Forgets the reasons of a listed URL (or, without ``url``, of a departed camera)."""
        for key in [k for k in self._current if k[0] == uuid and (url is None or k[1] == url)]:
            del self._current[key]

    def current(self) -> Mapping[tuple[str, str], NotListed]:
        return MappingProxyType(self._current)
