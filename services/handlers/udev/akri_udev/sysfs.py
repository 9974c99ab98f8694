"""The pyudev side: read devices from libudev into ``DeviceRecord`` snapshots and find matches.

``scan`` enumerates once per rule, pushing what libudev can filter itself into its enumerator
(subsystem, sysname, attribute and property globs, subsystem and attribute nomatch) and checking
every candidate with :func:`akri_udev.matching.matches`, so that a full scan and a single uevent
are decided by the same pure function. ``scan_subtree`` re-decides one device and everything under
it (after an ``add`` or ``change`` uevent). ``TAG==`` and ``DEVPATH==`` are not pushed: the first
reads the udev database's tag index, which the ``TAGS`` property mirrors (and umockdev lacks); the
second is a syspath libudev would add, which the devpath glob reproduces.

Both also come as coroutines (``scan_async``, ``scan_subtree_async``) for the handler: the same
steps, handing the event loop back every ``SLICE_SECONDS``, so that a Configuration with 10,000
rules (each an enumeration) takes longer but never stops the handler from answering its other
streams or a SIGTERM. Every regular expression runs on RE2, in time linear in the value.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyudev
import structlog

from akri_udev.matching import DeviceRecord, Match, matches, resolve
from akri_udev.query import Query

log = structlog.get_logger(__name__)

#: Devices found, by the devpath of the device that matched (not necessarily the reported id).
Found = dict[str, Match]

SYSFS = "/sys"


@dataclass
class RecordReader:
    """Builds records with only what the rules read; caches them for one pass (parents are shared)."""

    attributes: frozenset[str]
    properties: bool
    #: Whether the rules look at ancestors (hierarchy fields); reading parents is the costly part.
    ancestors: bool = True
    _cache: dict[str, DeviceRecord] = field(default_factory=dict)

    @classmethod
    def for_queries(cls, queries: Iterable[Query]) -> RecordReader:
        queries = tuple(queries)
        names: set[str] = set()
        for query in queries:
            names |= query.attribute_names
        return cls(
            attributes=frozenset(names),
            properties=any(q.reads_properties for q in queries),
            ancestors=any(q.reads_ancestors for q in queries),
        )

    def resolved(self, device: Any, record: DeviceRecord) -> Match:
        """Where a matched device is reported: itself, or its nearest ancestor with a node."""
        if record.devnode is None and record.parent is None and not self.ancestors:
            record = RecordReader(attributes=self.attributes, properties=False).record(device)
        return resolve(record)

    def record(self, device: Any) -> DeviceRecord:
        devpath: str = device.device_path
        cached = self._cache.get(devpath)
        if cached is not None:
            return cached
        parent = device.parent if self.ancestors else None
        record = DeviceRecord(
            devpath=devpath,
            sysname=device.sys_name,
            subsystem=device.subsystem,
            driver=device.driver,
            devnode=device.device_node,
            properties=dict(device.properties) if self.properties else {},
            attributes=self._attributes(device),
            parent=None if parent is None else self.record(parent),
        )
        self._cache[devpath] = record
        return record

    def _attributes(self, device: Any) -> dict[str, str]:
        values: dict[str, str] = {}
        for name in self.attributes:
            raw = device.attributes.get(name)
            if raw is not None:
                values[name] = raw.decode(errors="replace")
        return values


def candidates(context: pyudev.Context, query: Query) -> Any:
    """A libudev enumerator with the filters it can apply itself."""
    enumerator = context.list_devices()
    filters = query.enumerator
    for subsystem in filters.subsystems:
        enumerator.match_subsystem(subsystem)
    for subsystem in filters.nomatch_subsystems:
        enumerator.match_subsystem(subsystem, nomatch=True)
    for sysname in filters.sysnames:
        enumerator.match_sys_name(sysname)
    for name, value in filters.attributes:
        enumerator.match_attribute(name, value)
    for name, value in filters.nomatch_attributes:
        enumerator.match_attribute(name, value, nomatch=True)
    for name, value in filters.properties:
        enumerator.match_property(name, value)
    return enumerator


#: How long a scan may hold the event loop before it lets other work run.
SLICE_SECONDS = 0.005


def scan(context: pyudev.Context, queries: Iterable[Query]) -> Found:
    """A full enumeration: every device any rule matches."""
    found: Found = {}
    for _ in _scan_steps(context, tuple(queries), found):
        pass
    return found


async def scan_async(context: pyudev.Context, queries: Iterable[Query]) -> Found:
    """``scan``, yielding to the event loop between steps."""
    found: Found = {}
    await _drive(_scan_steps(context, tuple(queries), found))
    return found


def scan_subtree(context: pyudev.Context, queries: Iterable[Query], devpath: str) -> Found:
    """Every device at or under ``devpath`` that any rule matches (empty when it is gone)."""
    found: Found = {}
    for _ in _subtree_steps(context, tuple(queries), devpath, found):
        pass
    return found


async def scan_subtree_async(
    context: pyudev.Context, queries: Iterable[Query], devpath: str
) -> Found:
    """``scan_subtree``, yielding to the event loop between steps."""
    found: Found = {}
    await _drive(_subtree_steps(context, tuple(queries), devpath, found))
    return found


def _scan_steps(
    context: pyudev.Context, queries: tuple[Query, ...], found: Found
) -> Iterator[None]:
    reader = RecordReader.for_queries(queries)
    for query in queries:
        yield
        for device in candidates(context, query):
            record = _read(reader, device)
            if record is not None and matches(query, record):
                found[record.devpath] = reader.resolved(device, record)
            yield


def _subtree_steps(
    context: pyudev.Context, queries: tuple[Query, ...], devpath: str, found: Found
) -> Iterator[None]:
    try:
        top = pyudev.Devices.from_path(context, devpath)
    except pyudev.DeviceNotFoundError:
        return
    enumerator = context.list_devices()
    enumerator.match_parent(top)
    reader = RecordReader.for_queries(queries)
    for device in enumerator:
        record = _read(reader, device)
        if record is None:
            continue
        for query in queries:
            yield
            if matches(query, record):
                found[record.devpath] = reader.resolved(device, record)
                break


async def _drive(steps: Iterator[None]) -> None:
    """Runs ``steps``, letting the event loop run whenever a slice of time has passed."""
    started = time.monotonic()
    for _ in steps:
        if time.monotonic() - started >= SLICE_SECONDS:
            await asyncio.sleep(0)
            started = time.monotonic()


def read_iommu_group(devpath: str) -> str | None:
    """The name of the ``iommu_group`` link of a device (its VFIO group), if it has one."""
    try:
        return os.path.basename(os.readlink(f"{SYSFS}{devpath}/iommu_group"))
    except OSError:
        return None


def _read(reader: RecordReader, device: Any) -> DeviceRecord | None:
    """A record, or None when the device vanished while being read."""
    try:
        return reader.record(device)
    except (pyudev.DeviceNotFoundError, OSError) as err:
        log.debug("udev_device_vanished", devpath=device.device_path, error=str(err))
        return None
