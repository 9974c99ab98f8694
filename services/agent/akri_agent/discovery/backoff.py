"""Capped exponential back-off delays, as a small value object."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    initial: float = 0.05
    cap: float = 5.0
    failures: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; grows with each call until ``reset``."""
        delay = (
            0.0 if self.failures == 0 else min(self.cap, self.initial * 2 ** (self.failures - 1))
        )
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
