"""Upstream's filter semantics, as pure functions over a camera's known (or unknown) values.

In order: no filter keeps; ``Exclude`` with no items keeps (even an unknown value); an unknown
value is dropped by any other filter; ``Include`` keeps when an item matches; ``Exclude`` drops when
an item matches. IP addresses, MAC addresses and uuids compare case-insensitively; a scope item
matches when it equals one of the camera's scopes exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from akri_onvif.details import FilterAction, FilterList, OnvifDetails

Matcher = Callable[[str, str], bool]


def _same_ignoring_case(value: str, item: str) -> bool:
    return value.casefold() == item.casefold()


def same(value: str, item: str) -> bool:
    """Exact comparison (scopes)."""
    return value == item


def passes(
    filter_list: FilterList | None,
    values: Iterable[str] | None,
    matches: Matcher = _same_ignoring_case,
) -> bool:
    """Whether a camera with ``values`` (None when unknown) passes ``filter_list``."""
    if filter_list is None:
        return True
    if filter_list.action is FilterAction.EXCLUDE and not filter_list.items:
        return True
    if values is None:
        return False
    known = tuple(values)
    matched = any(matches(value, item) for item in filter_list.items for value in known)
    return matched if filter_list.action is FilterAction.INCLUDE else not matched


def single(value: str | None) -> tuple[str, ...] | None:
    """One optional value as the values ``passes`` takes."""
    return None if value is None else (value,)


def passes_discovery(details: OnvifDetails, *, uuid: str, scopes: tuple[str, ...] | None) -> bool:
    """The filters decided before describing a camera: scopes, then uuids."""
    return passes(details.scopes, scopes, same) and passes(details.uuids, (uuid,))


def passes_description(details: OnvifDetails, *, ip: str | None, mac: str | None) -> bool:
    """The filters decided after describing it: IP address, then MAC address."""
    return passes(details.ip_addresses, single(ip)) and passes(details.mac_addresses, single(mac))
