"""Does this device match these rules? Pure decisions over a snapshot of a device and its ancestors.

``DeviceRecord`` is what :mod:`akri_udev.sysfs` reads from libudev (only the attributes and
properties the rules need). ``matches`` applies a ``Query`` exactly as upstream does: enumerator
filters with libudev's semantics (``fnmatch`` globs; any subsystem, sysname or property; all
attributes and tags; no nomatch), then the post-scan filters as whole-string regular expressions,
the hierarchy fields (``SUBSYSTEMS``, ``ATTRS{k}``, ``DRIVERS``, ``KERNELS``, ``TAGS``) on the
device or any ancestor. Tags are the ``:``-separated ``TAGS`` property (umockdev has no udev
database, and on a real system the property mirrors it). Like libudev's enumerator, only devices
with a subsystem are ever considered.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from akri_udev.query import EnumeratorFilters, PostFilter, Query
from akri_udev.regex import Regex
from akri_udev.rules import Field

TAGS_PROPERTY = "TAGS"


@dataclass(frozen=True)
class DeviceRecord:
    """A device as the rules see it; ``parent`` links to its ancestors (nearest first)."""

    devpath: str
    sysname: str
    subsystem: str | None = None
    driver: str | None = None
    devnode: str | None = None
    properties: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    parent: DeviceRecord | None = None

    def lineage(self) -> Iterator[DeviceRecord]:
        """This device, then each ancestor up to the root."""
        record: DeviceRecord | None = self
        while record is not None:
            yield record
            record = record.parent

    @property
    def tags(self) -> tuple[str, ...]:
        raw = self.properties.get(TAGS_PROPERTY, "")
        return tuple(tag for tag in raw.split(":") if tag)


@dataclass(frozen=True, order=True)
class Match:
    """A matched device as reported: its devpath (the id) and its device node, if any."""

    devpath: str
    devnode: str | None = None


def glob(pattern: str, text: str) -> bool:
    """libudev's ``fnmatch(pattern, text, 0)``: ``*`` also matches ``/``; ``[!..]``/``[^..]`` negate."""
    return _glob_regex(pattern).match(text) is not None


@functools.lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern.replace("[^", "[!")), re.DOTALL)


def whole_match(pattern: Regex, text: str) -> bool:
    """Upstream's ``is_regex_match``: the leftmost match must span the whole string."""
    return pattern.whole_match(text)


def enumerator_matches(filters: EnumeratorFilters, record: DeviceRecord) -> bool:
    """What libudev's enumerator would keep, given these match and nomatch filters."""
    subsystem = record.subsystem
    return (
        subsystem is not None
        and (not filters.subsystems or any(glob(p, subsystem) for p in filters.subsystems))
        and not any(glob(p, subsystem) for p in filters.nomatch_subsystems)
        and (not filters.sysnames or any(glob(p, record.sysname) for p in filters.sysnames))
        and all(_attribute_globs(record, name, p) for name, p in filters.attributes)
        and not any(_attribute_globs(record, name, p) for name, p in filters.nomatch_attributes)
        and (not filters.properties or _any_property_globs(record, filters.properties))
        and set(filters.tags) <= set(record.tags)
        and (not filters.devpaths or any(glob(p, record.devpath) for p in filters.devpaths))
    )


def post_filter_matches(item: PostFilter, record: DeviceRecord) -> bool:
    """One post-scan filter, as upstream's ``filter_by_remaining_udev_filters`` keeps devices."""
    pattern = item.pattern
    hierarchy = _HIERARCHY_VALUES.get(item.field)
    if hierarchy is not None:
        found = any(
            whole_match(pattern, value)
            for ancestor in record.lineage()
            for value in hierarchy(ancestor, item.key)
        )
        return found == item.equal
    if item.field is Field.DRIVER:
        if record.driver is None:
            return not item.equal
        return whole_match(pattern, record.driver) == item.equal
    # The rest are != only (their == goes to the enumerator): drop the device if a value matches.
    own = _OWN_VALUES.get(item.field)
    if own is None:
        raise ValueError(f"{item.field}{item.op} is not a post-scan filter")
    return not any(whole_match(pattern, value) for value in own(record, item.key))


def _attribute_globs(record: DeviceRecord, name: str, pattern: str) -> bool:
    value = record.attributes.get(name)
    return value is not None and glob(pattern, value)


def _any_property_globs(record: DeviceRecord, filters: tuple[tuple[str, str], ...]) -> bool:
    return any(
        glob(key, name) and glob(pattern, value)
        for key, pattern in filters
        for name, value in record.properties.items()
    )


def matches(query: Query, record: DeviceRecord) -> bool:
    """True when the device passes every filter of the rule."""
    return enumerator_matches(query.enumerator, record) and all(
        post_filter_matches(item, record) for item in query.post
    )


def matches_any(queries: Iterable[Query], record: DeviceRecord) -> bool:
    """A device is discovered when any rule matches it."""
    return any(matches(query, record) for query in queries)


def resolve(record: DeviceRecord) -> Match:
    """The device itself when it has a device node, else its nearest ancestor with one (whose
    devpath becomes the id), else the device without a node."""
    for ancestor in record.lineage():
        if ancestor.devnode is not None:
            return Match(devpath=ancestor.devpath, devnode=ancestor.devnode)
    return Match(devpath=record.devpath)


def _subsystem(record: DeviceRecord, key: str | None) -> tuple[str, ...]:
    return () if record.subsystem is None else (record.subsystem,)


def _attribute(record: DeviceRecord, key: str | None) -> tuple[str, ...]:
    value = record.attributes.get(key or "")
    return () if value is None else (value,)


def _driver(record: DeviceRecord, key: str | None) -> tuple[str, ...]:
    return () if record.driver is None else (record.driver,)


def _sysname(record: DeviceRecord, key: str | None) -> tuple[str, ...]:
    return (record.sysname,)


def _tags(record: DeviceRecord, key: str | None) -> tuple[str, ...]:
    return record.tags


def _devpath(record: DeviceRecord, key: str | None) -> tuple[str, ...]:
    return (record.devpath,)


def _property(record: DeviceRecord, key: str | None) -> tuple[str, ...]:
    value = record.properties.get(key or "")
    return () if value is None else (value,)


_HIERARCHY_VALUES = {
    Field.SUBSYSTEMS: _subsystem,
    Field.ATTRS: _attribute,
    Field.DRIVERS: _driver,
    Field.KERNELS: _sysname,
    Field.TAGS: _tags,
}
_OWN_VALUES = {
    Field.DEVPATH: _devpath,
    Field.KERNEL: _sysname,
    Field.TAG: _tags,
    Field.ENV: _property,
}
