"""What "the handler has answered" means: per endpoint listing state, and when a request is listed.

Pure: no I/O, the clock is an argument. A discovery request follows every endpoint registered with
its handler name. For each endpoint it remembers an ``EndpointListing``:

- **current**: the open stream has delivered its first list; its devices are what the endpoint
  sees now.
- **waiting**: registered and followed, but the open stream has not delivered its first list yet
  (just opened, reconnecting after a loss, or each ``Discover`` fails). The devices of the last list
  (if any) are kept, and the endpoint counts as not answered, for ``first_list_grace`` seconds;
  past that it counts as answered with no devices.
- **forgotten**: the endpoint could not be reached (the connection failed) and is no longer
  registered. Its last devices are kept, unanswered, for ``registration_grace`` seconds, the time a
  restarted handler has to register again; past that it is dropped.
- **rejected**: the handler refused the details (``INVALID_ARGUMENT``): answered, no devices, until
  the details change or the endpoint registers again.

A request is **listed** when every endpoint has answered and, within ``registration_grace`` of the
agent's start, at least one endpoint with that handler name has registered (a handler must get the
chance to notice the restarted agent and register again). Only a listed request may release
Instances: "no answer yet" is never taken for "no devices". ``recheck_after`` says when the answer
may change by the clock alone (a grace ending), so the caller can look again then.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from akri_agent.discovery.model import Endpoint, EndpointDevices
from akri_common.devices import Device


class Phase(enum.Enum):
    CURRENT = "current"
    WAITING = "waiting"
    FORGOTTEN = "forgotten"
    REJECTED = "rejected"


@dataclass(frozen=True)
class EndpointListing:
    """One endpoint's listing state within one request."""

    endpoint: Endpoint
    phase: Phase
    since: float
    devices: tuple[Device, ...] | None = None

    def opened(self, now: float) -> EndpointListing:
        """A new stream was opened (or the endpoint registered again): waiting for a first list."""
        return EndpointListing(self.endpoint, Phase.WAITING, now, self.devices)

    def listed(self, devices: tuple[Device, ...], now: float) -> EndpointListing:
        since = self.since if self.phase is Phase.CURRENT else now
        return EndpointListing(self.endpoint, Phase.CURRENT, since, devices)

    def interrupted(self, now: float) -> EndpointListing:
        """The stream broke or failed: waiting again (the grace starts now, unless it already runs)."""
        if self.phase is Phase.WAITING:
            return self
        return EndpointListing(self.endpoint, Phase.WAITING, now, self.devices)

    def forgotten(self, now: float) -> EndpointListing:
        return EndpointListing(self.endpoint, Phase.FORGOTTEN, now, self.devices)

    def rejected(self, now: float) -> EndpointListing:
        return EndpointListing(self.endpoint, Phase.REJECTED, now, None)


@dataclass(frozen=True)
class ListingGraces:
    registration_grace: float
    first_list_grace: float


@dataclass(frozen=True)
class RequestListing:
    """What a request yields now: the lists to build Instances from, and whether it is listed."""

    lists: tuple[EndpointDevices, ...]
    listed: bool
    answered: int
    recheck_after: float | None


def request_listing(
    listings: Iterable[EndpointListing],
    *,
    now: float,
    started: float,
    registered: int,
    graces: ListingGraces,
) -> RequestListing:
    """The lists that count and whether the request is listed, at ``now``.

    ``started`` is when the agent started; ``registered`` how many endpoints with the request's
    handler name are registered now.
    """
    lists: list[EndpointDevices] = []
    all_answered = True
    answered = 0
    deadlines: list[float] = []
    for entry in sorted(listings, key=lambda e: e.endpoint.uid):
        if entry.phase is Phase.CURRENT:
            answered += 1
            lists.append(EndpointDevices(entry.endpoint, entry.devices or ()))
            continue
        if entry.phase is Phase.REJECTED:
            answered += 1
            continue
        grace = (
            graces.first_list_grace if entry.phase is Phase.WAITING else graces.registration_grace
        )
        ends = entry.since + grace
        if now < ends:
            all_answered = False
            deadlines.append(ends)
            if entry.devices is not None:
                lists.append(EndpointDevices(entry.endpoint, entry.devices))
        else:
            answered += 1
    startup_ends = started + graces.registration_grace
    if registered == 0 and now < startup_ends:
        all_answered = False
        deadlines.append(startup_ends)
    recheck = max(0.0, min(deadlines) - now) if deadlines else None
    return RequestListing(
        lists=tuple(lists), listed=all_answered, answered=answered, recheck_after=recheck
    )
