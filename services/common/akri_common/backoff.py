"""Capped exponential back-off, the one rule every retry loop follows.

Handler registration, discovery streams, watches and reconciles all wait ``initial`` seconds after
the first failure, doubling after each further one, never more than ``cap``; the first attempt
does not wait.
"""

from __future__ import annotations

from dataclasses import dataclass


def delay(failures: int, *, initial: float, cap: float) -> float:
    """The wait before the next attempt after ``failures`` consecutive failures (none after 0)."""
    if failures <= 0:
        return 0.0
    return float(min(cap, initial * 2 ** (failures - 1)))


@dataclass
class Backoff:
    """A retry loop's back-off state: ``next_delay`` before each attempt, ``reset`` on success."""

    initial: float = 0.05
    cap: float = 5.0
    failures: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; grows with each call until ``reset``."""
        wait = delay(self.failures, initial=self.initial, cap=self.cap)
        self.failures += 1
        return wait

    def reset(self) -> None:
        self.failures = 0
