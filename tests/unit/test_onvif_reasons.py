"""Why a camera is not listed: reasons from errors, filters, clocks and SOAP 1.1 faults (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import pytest

from akri_onvif.details import FilterAction, FilterList, OnvifDetails
from akri_onvif.device_service import DescriptionError, NetworkFacts, camera_utc, http_date
from akri_onvif.inventory import UNKNOWN, filtered_by
from akri_onvif.messages import Endpoint
from akri_onvif.reasons import NotListed, Reason, ReasonLog, from_error


@pytest.mark.parametrize(
    ("kind", "credential", "reason", "context"),
    [
        ("unreachable", "default", Reason.UNREACHABLE, {}),
        ("refused", None, Reason.REFUSED_ADDRESS, {}),
        ("unsupported", None, Reason.REFUSED_ADDRESS, {}),
        ("not_authorized", "default", Reason.NOT_AUTHORIZED, {"credential": "default"}),
        ("not_authorized", None, Reason.NOT_AUTHORIZED, {"credential": "none"}),
        ("malformed", None, Reason.NOT_ONVIF, {}),
        ("fault", None, Reason.NOT_ONVIF, {}),
        ("not_supported", None, Reason.NOT_ONVIF, {}),
    ],
)
def test_from_error(
    kind: str, credential: str | None, reason: Reason, context: dict[str, str]
) -> None:
    result = from_error(DescriptionError(kind, "x" * 500), credential=credential)
    assert result.reason is reason
    assert dict(result.context) == {"detail": "x" * 200, **context}


URL = "http://10.0.0.5/onvif/device_service"


@pytest.mark.parametrize(
    ("details", "facts", "name"),
    [
        (OnvifDetails(), UNKNOWN, None),
        (OnvifDetails(scopes=FilterList(("onvif://x",))), UNKNOWN, "scopes"),
        (OnvifDetails(uuids=FilterList(("u1",), FilterAction.EXCLUDE)), UNKNOWN, "uuids"),
        (
            OnvifDetails(ip_addresses=FilterList(("10.0.0.9",))),
            NetworkFacts("10.0.0.5", None),
            "ipAddresses",
        ),
        (
            OnvifDetails(mac_addresses=FilterList(("aa",))),
            NetworkFacts("10.0.0.5", None),
            "macAddresses",
        ),
        (OnvifDetails(mac_addresses=FilterList((), FilterAction.EXCLUDE)), UNKNOWN, None),
    ],
)
def test_filtered_by_names_the_filter(
    details: OnvifDetails, facts: NetworkFacts, name: str | None
) -> None:
    assert filtered_by(details, Endpoint("u1", (URL,), scopes=("onvif://y",)), facts) == name


def test_reason_log_says_each_reason_once_until_it_changes() -> None:
    reasons = ReasonLog()
    first = NotListed(Reason.UNREACHABLE, {"detail": "timeout"})
    reasons.set("u1", URL, first)
    reasons.set("u1", URL, first)
    assert dict(reasons.current()) == {("u1", URL): first}
    second = NotListed(Reason.NOT_AUTHORIZED, {"credential": "default"})
    reasons.set("u1", URL, second)
    assert dict(reasons.current()) == {("u1", URL): second}
    reasons.clear("u1", URL)
    assert not reasons.current()


def test_clocks() -> None:
    assert http_date("Tue, 15 Nov 1994 08:12:31 GMT") == datetime(
        1994, 11, 15, 8, 12, 31, tzinfo=UTC
    )
    assert http_date("not a date") is None
    assert http_date(None) is None
    assert camera_utc(clock("2026", "12", "2", "7", "8", "9")) == datetime(
        2026, 12, 2, 7, 8, 9, tzinfo=UTC
    )
    assert camera_utc(ET.fromstring("<GetSystemDateAndTimeResponse/>")) is None
    assert camera_utc(None) is None
    assert camera_utc(clock("2026", "13", "1", "7", "8", "9")) is None  # no 13th month
    assert camera_utc(clock("2026", "12", "\u0662", "7", "8", "9")) is None  # ASCII digits only
    assert camera_utc(clock("2026", "12", "2", "7", "8", "9" * 50)) is None


def clock(*values: str) -> ET.Element:
    date = "".join(
        f"<{n}>{v}</{n}>" for n, v in zip(("Year", "Month", "Day"), values[:3], strict=True)
    )
    time = "".join(
        f"<{n}>{v}</{n}>" for n, v in zip(("Hour", "Minute", "Second"), values[3:], strict=True)
    )
    return ET.fromstring(
        "<GetSystemDateAndTimeResponse><SystemDateAndTime><UTCDateTime>"
        f"<Date>{date}</Date><Time>{time}</Time>"
        "</UTCDateTime></SystemDateAndTime></GetSystemDateAndTimeResponse>"
    )
