"""Upstream's filter semantics, table-driven: Include, Exclude, empty items and unknown values."""

from __future__ import annotations

import pytest

from akri_onvif.details import FilterAction, FilterList, OnvifDetails
from akri_onvif.filters import passes, passes_description, passes_discovery

INC = FilterAction.INCLUDE
EXC = FilterAction.EXCLUDE


@pytest.mark.parametrize(
    ("filter_list", "values", "kept"),
    [
        (None, ("10.0.0.1",), True),
        (None, None, True),
        (FilterList(items=(), action=EXC), None, True),  # Exclude with no items keeps even unknown
        (FilterList(items=(), action=EXC), ("10.0.0.1",), True),
        (FilterList(items=(), action=INC), ("10.0.0.1",), False),
        (FilterList(items=("10.0.0.1",), action=INC), None, False),  # unknown: dropped
        (FilterList(items=("10.0.0.1",), action=EXC), None, False),  # unknown: dropped
        (FilterList(items=("10.0.0.1",), action=INC), ("10.0.0.1",), True),
        (FilterList(items=("10.0.0.1",), action=INC), ("10.0.0.2",), False),
        (FilterList(items=("10.0.0.1",), action=EXC), ("10.0.0.1",), False),
        (FilterList(items=("10.0.0.1",), action=EXC), ("10.0.0.2",), True),
        (FilterList(items=("10.0.0.9", "10.0.0.1"), action=INC), ("10.0.0.1",), True),
        (FilterList(items=("AA:BB:CC:00:11:22",), action=INC), ("aa:bb:cc:00:11:22",), True),
        (FilterList(items=("aa:bb:cc:00:11:22",), action=EXC), ("AA:BB:CC:00:11:22",), False),
    ],
)
def test_passes(filter_list: FilterList | None, values: tuple[str, ...] | None, kept: bool) -> None:
    assert passes(filter_list, values) is kept


SCOPE = "onvif://www.onvif.org/location/lobby"


@pytest.mark.parametrize(
    ("details", "uuid", "scopes", "kept"),
    [
        (OnvifDetails(), "u1", None, True),
        (OnvifDetails(scopes=FilterList(items=(SCOPE,))), "u1", (SCOPE, "x"), True),
        (OnvifDetails(scopes=FilterList(items=(SCOPE,))), "u1", ("x",), False),
        (OnvifDetails(scopes=FilterList(items=(SCOPE,))), "u1", None, False),
        # Scopes compare exactly, token by token (no prefix match, case matters).
        (
            OnvifDetails(scopes=FilterList(items=("onvif://www.onvif.org/location",))),
            "u1",
            (SCOPE,),
            False,
        ),
        (OnvifDetails(scopes=FilterList(items=(SCOPE.upper(),))), "u1", (SCOPE,), False),
        (OnvifDetails(scopes=FilterList(items=(SCOPE,), action=EXC)), "u1", (SCOPE,), False),
        (OnvifDetails(scopes=FilterList(items=(), action=EXC)), "u1", None, True),
        (OnvifDetails(uuids=FilterList(items=("U1",))), "u1", None, True),
        (OnvifDetails(uuids=FilterList(items=("u1",), action=EXC)), "u1", None, False),
        (OnvifDetails(uuids=FilterList(items=("u2",), action=EXC)), "u1", None, True),
    ],
)
def test_passes_discovery(
    details: OnvifDetails, uuid: str, scopes: tuple[str, ...] | None, kept: bool
) -> None:
    assert passes_discovery(details, uuid=uuid, scopes=scopes) is kept


@pytest.mark.parametrize(
    ("details", "ip", "mac", "kept"),
    [
        (OnvifDetails(), None, None, True),
        (OnvifDetails(ip_addresses=FilterList(items=("10.0.0.1",))), "10.0.0.1", None, True),
        (OnvifDetails(ip_addresses=FilterList(items=("10.0.0.1",))), None, "m", False),
        (OnvifDetails(mac_addresses=FilterList(items=("m",), action=EXC)), "10.0.0.1", None, False),
        (OnvifDetails(mac_addresses=FilterList(items=(), action=EXC)), None, None, True),
        (
            OnvifDetails(
                ip_addresses=FilterList(items=("10.0.0.1",)),
                mac_addresses=FilterList(items=("m",), action=EXC),
            ),
            "10.0.0.1",
            "M",
            False,
        ),
    ],
)
def test_passes_description(
    details: OnvifDetails, ip: str | None, mac: str | None, kept: bool
) -> None:
    assert passes_description(details, ip=ip, mac=mac) is kept
