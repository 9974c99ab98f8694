"""``shown``: the rule for putting a value a user or a peer controls into a message: a bounded
``repr`` of any value, however large or deep, that never walks more than a few items of it.

Its own module so that what only formats messages (the CRD parsers' errors, the handlers' details)
does not load the YAML reader: the agent, controller and webhook never parse YAML.
"""

from __future__ import annotations

import reprlib
from typing import Any

MAX_SHOWN = 80


class _Shown(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = 60
        self.maxother = 60
        self.maxlong = 40
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = 6

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"<an integer of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_SHOWN = _Shown()


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """A ``repr`` of ``value`` of at most ``limit`` characters, in time bounded by ``limit``
    whatever the value's size or depth."""
    text = _SHOWN.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
