"""When a discovery request counts as listed: per-endpoint phases, graces, the start-up hold."""

from __future__ import annotations

import pytest

from akri_agent.discovery.listing import (
    EndpointListing,
    ListingGraces,
    Phase,
    request_listing,
)
from akri_agent.discovery.model import Endpoint, EndpointKind
from akri_common.devices import Device
from akri_common.ids import HandlerName

GRACES = ListingGraces(registration_grace=10.0, first_list_grace=30.0)
A = Endpoint(HandlerName("h"), "/a.sock", EndpointKind.UDS, shared=False)
B = Endpoint(HandlerName("h"), "/b.sock", EndpointKind.UDS, shared=False)
CAM = (Device(id="cam"),)


def entry(
    phase: Phase,
    since: float = 0.0,
    devices: tuple[Device, ...] | None = CAM,
    endpoint: Endpoint = A,
) -> EndpointListing:
    return EndpointListing(endpoint, phase, since, devices)


@pytest.mark.parametrize(
    ("entries", "now", "registered", "listed", "ids", "recheck"),
    [
        # Just started, no handler registered yet: not listed until the registration grace ends.
        ((), 1.0, 0, False, set(), 9.0),
        ((), 10.0, 0, True, set(), None),
        # Registered, stream open, no first list yet: not listed, nothing known yet.
        ((entry(Phase.WAITING, 1.0, None),), 2.0, 1, False, set(), 29.0),
        # First list received: listed with its devices.
        ((entry(Phase.CURRENT, 1.0),), 2.0, 1, True, {"cam"}, None),
        # Stream lost (or Discover failing) after a list: the last devices are kept, unlisted...
        ((entry(Phase.WAITING, 5.0),), 6.0, 1, False, {"cam"}, 29.0),
        # ...until the first-list grace ends: then it counts as listing nothing.
        ((entry(Phase.WAITING, 5.0),), 35.0, 1, True, set(), None),
        # Unreachable and forgotten: kept for the registration grace, then dropped.
        ((entry(Phase.FORGOTTEN, 20.0),), 25.0, 0, False, {"cam"}, 5.0),
        ((entry(Phase.FORGOTTEN, 20.0),), 30.0, 0, True, set(), None),
        # Rejected details: answered, no devices.
        ((entry(Phase.REJECTED, 1.0, None),), 2.0, 1, True, set(), None),
        # Two endpoints: listed only when both have answered.
        (
            (entry(Phase.CURRENT, 1.0), entry(Phase.WAITING, 1.0, None, endpoint=B)),
            2.0, 2, False, {"cam"}, 29.0,
        ),
    ],
)  # fmt: skip
def test_request_listing(
    *,
    entries: tuple[EndpointListing, ...],
    now: float,
    registered: int,
    listed: bool,
    ids: set[str],
    recheck: float | None,
) -> None:
    result = request_listing(entries, now=now, started=0.0, registered=registered, graces=GRACES)
    assert result.listed is listed
    assert {d.id for lst in result.lists for d in lst.devices} == ids
    assert result.recheck_after == (None if recheck is None else pytest.approx(recheck))


def test_phase_transitions_keep_the_last_devices() -> None:
    waiting = EndpointListing(A, Phase.WAITING, 0.0)
    current = waiting.listed(CAM, 1.0)
    assert (current.phase, current.since, current.devices) == (Phase.CURRENT, 1.0, CAM)
    assert current.listed((), 2.0).since == 1.0, "a new list on a current stream keeps `since`"
    lost = current.interrupted(3.0)
    assert (lost.phase, lost.since, lost.devices) == (Phase.WAITING, 3.0, CAM)
    assert lost.interrupted(4.0).since == 3.0, "repeated failures do not extend the grace"
    gone = lost.forgotten(5.0)
    assert (gone.phase, gone.devices) == (Phase.FORGOTTEN, CAM)
    assert current.rejected(6.0).devices is None
