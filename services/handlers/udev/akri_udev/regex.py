"""Linear-time regular expressions for the post-scan udev filters: RE2, as upstream's Rust ``regex``.

Upstream evaluates ``DEVPATH!=``, ``KERNELS==``, ``ATTRS{k}==`` and the other post-scan values with
Rust's ``regex`` crate, whose matching time is linear in the text: no rule can make it backtrack.
Python's ``re`` backtracks (``.*.*.*.*.*.*.*.*Q`` against one long device path runs for minutes and
holds the event loop), so these values are compiled with RE2 (``google-re2``), which guarantees
linear time and accepts the same syntax as Rust's crate: no look-around and no back-references,
which upstream refuses as well. A pattern RE2 cannot compile within its memory budget is refused
like any invalid one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the error is raised (and reported with the rule), not printed


class RegexError(ValueError):
    """The value is not a regular expression upstream (and RE2) would accept; ``pos`` is where
    (0-based) the offending part starts."""

    def __init__(self, reason: str, pos: int = 0) -> None:
        self.pos = pos
        super().__init__(reason)


@dataclass(frozen=True, eq=False)
class Regex:
    """A compiled pattern; ``source`` is the rule's text for it."""

    source: str
    _compiled: Any

    def whole_match(self, text: str) -> bool:
        """Upstream's ``is_regex_match``: the leftmost match must span the whole string."""
        found = self._compiled.search(text)
        return found is not None and found.start() == 0 and found.end() == len(text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Regex) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)


def compile_regex(source: str) -> Regex:
    """Compiles ``source`` with RE2; raises ``RegexError`` with RE2's reason."""
    try:
        compiled = re2.compile(source, options=_OPTIONS)
    except re2.error as err:
        reason = err.args[0] if err.args else "invalid"
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        reason, _, fragment = text.partition(": ")
        found = source.rfind(fragment) if fragment else -1
        raise RegexError(reason, max(found, 0)) from None
    return Regex(source=source, _compiled=compiled)
