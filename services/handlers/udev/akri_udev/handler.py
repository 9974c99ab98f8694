"""The udev ``DiscoveryHandler``: enumerate once, then follow uevents; re-enumerate now and then.

Per ``Discover`` stream: open a netlink monitor first, enumerate every rule, report; then for each
batch of uevents forget and re-decide the affected subtrees and report at once (scans hand the
event loop back every few milliseconds, so no stream starves another) (the SDK sends only
lists that changed). Every ``resync_seconds`` without uevents (default 300) a full enumeration
guards against anything missed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Mapping

import pyudev
import structlog

from akri_common.devices import Device
from akri_udev import inventory, sysfs
from akri_udev.details import UdevDetails, parse_details
from akri_udev.devices import build_devices
from akri_udev.monitor import Uevent, Uevents
from akri_udev.settings import UdevSettings

log = structlog.get_logger(__name__)

NAME = "udev"


class UdevHandler:
    """Reports the node's devices that match a Configuration's udev rules; never shared."""

    name = NAME
    shared = False

    def __init__(self, settings: UdevSettings | None = None) -> None:
        self.settings = settings or UdevSettings()

    def parse_details(self, details: str, properties: Mapping[str, bytes | None]) -> UdevDetails:
        return parse_details(details, properties)

    async def discover(self, details: UdevDetails) -> AsyncGenerator[tuple[Device, ...], None]:
        context = pyudev.Context()
        with Uevents(context, source=self.settings.monitor_source) as uevents:
            found = await _full_scan(context, details)
            yield _devices(found, details)
            while True:
                batch = await uevents.next_batch(timeout=self.settings.resync_seconds)
                if batch is None:
                    found = await _full_scan(context, details)
                else:
                    found = await _apply(context, details, found, batch)
                yield _devices(found, details)


async def _full_scan(context: pyudev.Context, details: UdevDetails) -> sysfs.Found:
    started = time.perf_counter()
    found = await sysfs.scan_async(context, details.queries)
    log.info(
        "udev_enumerated",
        rules=len(details.queries),
        matched=len(found),
        seconds=round(time.perf_counter() - started, 4),
    )
    return found


async def _apply(
    context: pyudev.Context, details: UdevDetails, found: sysfs.Found, batch: list[Uevent]
) -> sysfs.Found:
    for event in batch:
        step = inventory.plan(event)
        for devpath in step.drop:
            found = inventory.without_subtree(found, devpath)
        if step.rescan is not None:
            found.update(await sysfs.scan_subtree_async(context, details.queries, step.rescan))
    log.debug("udev_events_applied", events=len(batch), matched=len(found))
    return found


def _devices(found: sysfs.Found, details: UdevDetails) -> tuple[Device, ...]:
    return build_devices(found.values(), details=details, iommu_group=sysfs.read_iommu_group)
