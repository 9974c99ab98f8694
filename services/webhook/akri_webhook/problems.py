"""A problem found in a submitted object: the JSON path of the offending field and why.

Paths read like ``spec.brokerSpec.brokerPodSpec.containers[0].imagePullPolicyy`` (the notation of
``InvalidResourceError``). Reasons never quote whole values: a wrong-typed field names the type it
found, so that nothing a Secret-like field carried ends up in an API response or a log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def join(path: str, key: str) -> str:
    """The path of ``key`` inside the object at ``path`` (``a.b``, or ``a["x.y/z"]`` for odd keys)."""
    if not _PLAIN_KEY.match(key):
        return f"{path}[{key!r}]".replace("'", '"') if '"' not in key else f"{path}[{key!r}]"
    return f"{path}.{key}" if path else key


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),  # before int: a bool is an int in Python
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "an object"),
)


def type_name(value: Any) -> str:
    """The JSON type of ``value``, for messages (never the value itself)."""
    if value is None:
        return "null"
    for kind, name in _TYPE_NAMES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def unique(problems: Iterable[Problem]) -> list[Problem]:
    """The problems without repeats, in the order first found."""
    return list(dict.fromkeys(problems))
