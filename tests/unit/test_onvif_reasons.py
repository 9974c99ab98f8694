"""Why a camera is not listed: reasons from errors, filters, clocks and SOAP 1.1 faults (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from akri_onvif.details import FilterAction, FilterList, OnvifDetails
from akri_onvif.device_service import (
    DescriptionError,
    NetworkFacts,
    camera_utc,
    http_date,
    soap11_fault,
)
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
    date = SimpleNamespace(Year=2026, Month=12, Day=2)
    time = SimpleNamespace(Hour=7, Minute=8, Second=9)
    answer = SimpleNamespace(UTCDateTime=SimpleNamespace(Date=date, Time=time))
    assert camera_utc(answer) == datetime(2026, 12, 2, 7, 8, 9, tzinfo=UTC)
    assert camera_utc(SimpleNamespace(UTCDateTime=None)) is None
    bad = SimpleNamespace(
        UTCDateTime=SimpleNamespace(Date=SimpleNamespace(Year=2026, Month=13, Day=1), Time=time)
    )
    assert camera_utc(bad) is None


def test_soap11_faults() -> None:
    s11 = "http://schemas.xmlsoap.org/soap/envelope/"
    fault = (
        f'<s:Envelope xmlns:s="{s11}"><s:Body><s:Fault><faultcode>ter:NotAuthorized</faultcode>'
        "<faultstring>no</faultstring></s:Fault></s:Body></s:Envelope>"
    ).encode()
    error = soap11_fault(fault)
    assert error is not None
    assert (error.kind, error.challenge) == ("not_authorized", "soap")
    assert (
        soap11_fault(f'<s:Envelope xmlns:s="{s11}"><s:Body><x/></s:Body></s:Envelope>'.encode())
        is None
    )
    assert soap11_fault(b"<!DOCTYPE x><x/>" + s11.encode()) is None
