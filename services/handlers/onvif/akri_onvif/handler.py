"""The ONVIF ``DiscoveryHandler``: ``onvif``, shared, details and credentials in, cameras out."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from akri_handler_sdk import Device
from akri_onvif.credentials import CredentialStore, parse_credentials
from akri_onvif.details import OnvifDetails, parse_details
from akri_onvif.settings import OnvifSettings

if TYPE_CHECKING:
    from akri_common.metrics import MetricsServer

log = structlog.get_logger(__name__)

NAME = "onvif"


@dataclass(frozen=True)
class OnvifRequest:
    """One ``Discover`` call's parsed input: the details and the credentials from the properties."""

    details: OnvifDetails
    credentials: CredentialStore


class OnvifHandler:
    """Finds ONVIF cameras by WS-Discovery (probes, Hello, Bye) and describes them over SOAP."""

    name = NAME
    shared = True

    def __init__(self, *, settings: OnvifSettings | None = None) -> None:
        self.settings = settings if settings is not None else OnvifSettings()
        self._metrics: MetricsServer | None = None

    async def _serve_metrics(self) -> None:
        """Starts ``/metrics`` on ``METRICS_PORT`` at the first ``Discover`` (for the life of the
        process; no port, no server)."""
        if self._metrics is not None or not self.settings.metrics_port:
            return
        from akri_common.metrics import MetricsServer  # noqa: PLC0415 - idle handlers stay small
        from akri_common.prometheus import exposition  # noqa: PLC0415
        from akri_onvif.reasons import METRICS  # noqa: PLC0415

        self._metrics = MetricsServer(
            port=self.settings.metrics_port,
            exposition=exposition(METRICS),
        )
        try:
            await self._metrics.start()
        except OSError as err:
            log.warning("metrics_not_served", port=self.settings.metrics_port, error=str(err))

    def parse_details(self, details: str, properties: Mapping[str, bytes | None]) -> OnvifRequest:
        return OnvifRequest(
            details=parse_details(details), credentials=parse_credentials(properties)
        )

    async def discover(self, details: OnvifRequest) -> AsyncGenerator[tuple[Device, ...], None]:
        """The cameras after the first probe round, then again whenever they change."""
        # The discovery path loads at the first Discover: an idle handler stays small.
        from akri_onvif.tracker import CameraTracker  # noqa: PLC0415

        await self._serve_metrics()
        log.info(
            "onvif_discovery_started",
            timeout=details.details.discovery_timeout_seconds,
            probe_interval=self.settings.probe_interval_seconds,
            credentials=len(details.credentials.by_uuid),
        )
        async with CameraTracker(
            details.details, credentials=details.credentials, settings=self.settings
        ) as tracker:
            async for devices in tracker.lists():
                yield devices
