"""The udev rule subset upstream Akri accepts: grammar, parser and its typed errors.

One rule is a comma-separated list of filters ``FIELD OP "value"`` (upstream's PEG grammar,
``udev_rule_grammar.pest``). A filter is compound-atomic: no whitespace between the field, the
operator and the opening quote (``KERNEL=="null"`` parses, ``KERNEL == "null"`` does not); spaces are
allowed around commas and at both ends; an empty rule parses to no filters. Only the match operators
``==`` and ``!=`` are accepted; udev's assignments (``=``, ``+=``, ``-=``, ``:=``) and its action keys
(``RUN``, ``NAME``, ``MODE``...) are rejected. Every rejection names the rule's index, the column (1-based)
and the reason.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Field(StrEnum):
    """The filter keys upstream supports."""

    ATTR = "ATTR"
    ATTRS = "ATTRS"
    DEVPATH = "DEVPATH"
    DRIVER = "DRIVER"
    DRIVERS = "DRIVERS"
    ENV = "ENV"
    KERNEL = "KERNEL"
    KERNELS = "KERNELS"
    SUBSYSTEM = "SUBSYSTEM"
    SUBSYSTEMS = "SUBSYSTEMS"
    TAG = "TAG"
    TAGS = "TAGS"


class Operator(StrEnum):
    EQUAL = "=="
    NOT_EQUAL = "!="


#: Fields written ``FIELD{key}``.
KEYED_FIELDS = frozenset({Field.ATTR, Field.ATTRS, Field.ENV})
#: udev keys that assign or act rather than match: upstream's grammar knows and rejects them.
REJECTED_FIELDS = frozenset(
    {
        "ACTION",
        "CONST",
        "GOTO",
        "GROUP",
        "IMPORT",
        "LABEL",
        "MODE",
        "NAME",
        "OPTIONS",
        "OWNER",
        "PROGRAM",
        "RESULT",
        "RUN",
        "SECLABEL",
        "SYMLINK",
        "SYSCTL",
        "TEST",
        "WAIT_FOR",
    }
)
#: Operators that assign; rejected with a reason of their own.
ASSIGNMENTS = ("+=", "-=", ":=", "=")

_ALNUM = frozenset(string.ascii_letters + string.digits)
VALUE_CHARACTERS = _ALNUM | frozenset(" $._*:?[]-|\\/%{}")
KEY_CHARACTERS = _ALNUM | frozenset(" $._*?[]-|\\/")
_NAME_CHARACTERS = _ALNUM | {"_"}
_SUPPORTED = "ATTR{key}, ATTRS{key}, DEVPATH, DRIVER, DRIVERS, ENV{key}, KERNEL, KERNELS, SUBSYSTEM, SUBSYSTEMS, TAG, TAGS"


@dataclass(frozen=True)
class Filter:
    """One ``FIELD{key}OP"value"``; columns (1-based, not compared) point into the rule text."""

    field: Field
    op: Operator
    value: str
    key: str | None = None
    column: int = dataclasses.field(default=1, compare=False)
    value_column: int = dataclasses.field(default=1, compare=False)

    def __str__(self) -> str:
        keyed = f"{{{self.key}}}" if self.key is not None else ""
        return f'{self.field}{keyed}{self.op}"{self.value}"'


@dataclass(frozen=True)
class Rule:
    """A parsed rule: its filters in order, and where it stood in ``udevRules``."""

    index: int
    text: str
    filters: tuple[Filter, ...]


class RuleSyntaxError(ValueError):
    """A rule upstream would not accept; retrying cannot help. Names rule, column and reason."""

    def __init__(self, *, index: int, column: int, reason: str, text: str) -> None:
        self.index = index
        self.column = column
        self.reason = reason
        self.text = text
        super().__init__(f"rule {index}, column {column}: {reason} (in {_shown(text)})")


def _shown(text: str, limit: int = 80) -> str:
    quoted = repr(text[:limit])
    return quoted if len(text) <= limit else quoted + "..."


class _Scanner:
    """A cursor over one rule's text that raises ``RuleSyntaxError`` at its position."""

    def __init__(self, text: str, index: int) -> None:
        self.text = text
        self.index = index
        self.pos = 0

    @property
    def column(self) -> int:
        return self.pos + 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def fail(self, reason: str, *, column: int | None = None) -> RuleSyntaxError:
        return RuleSyntaxError(
            index=self.index,
            column=self.column if column is None else column,
            reason=reason,
            text=self.text,
        )

    def take_while(self, allowed: frozenset[str]) -> str:
        start = self.pos
        while not self.at_end() and self.text[self.pos] in allowed:
            self.pos += 1
        return self.text[start : self.pos]


def parse_rule(text: str, *, index: int = 0) -> Rule:
    """Parses one rule; raises ``RuleSyntaxError`` at the first thing upstream would reject."""
    scanner = _Scanner(text, index)
    filters: list[Filter] = []
    scanner.skip_spaces()
    if scanner.at_end():
        return Rule(index=index, text=text, filters=())
    while True:
        filters.append(_parse_filter(scanner))
        scanner.skip_spaces()
        if scanner.at_end():
            return Rule(index=index, text=text, filters=tuple(filters))
        if scanner.peek() != ",":
            raise scanner.fail(f"expected ',' between filters, found {scanner.peek()!r}")
        scanner.pos += 1
        scanner.skip_spaces()
        if scanner.at_end():
            raise scanner.fail("expected a filter after ','")


def parse_rules(texts: Sequence[str]) -> tuple[Rule, ...]:
    """Parses every rule of ``udevRules`` in order; the first error names its rule's index."""
    return tuple(parse_rule(text, index=i) for i, text in enumerate(texts))


def _parse_filter(scanner: _Scanner) -> Filter:
    start = scanner.column
    name = scanner.take_while(_NAME_CHARACTERS)
    if not name:
        raise scanner.fail(
            f"expected a field such as KERNEL or ATTR{{key}}, found {scanner.peek()!r}"
        )
    key = _parse_key(scanner, name) if scanner.peek() == "{" else None
    if name in REJECTED_FIELDS:
        raise scanner.fail(
            f"field {name} is a udev action key, not a match; supported fields: {_SUPPORTED}",
            column=start,
        )
    try:
        field_ = Field(name)
    except ValueError:
        raise scanner.fail(
            f"unknown field {_shown(name)}; supported fields: {_SUPPORTED}", column=start
        ) from None
    if field_ in KEYED_FIELDS and key is None:
        raise scanner.fail(f"field {name} needs a key in braces, as {name}{{name}}")
    if field_ not in KEYED_FIELDS and key is not None:
        raise scanner.fail(f"field {name} takes no {{key}}", column=start + len(name))
    op = _parse_operator(scanner, name)
    if scanner.peek() != '"':
        found = "a space" if scanner.peek() == " " else repr(scanner.peek() or "the end")
        raise scanner.fail(
            f"expected '\"' right after {op.value} (no space allowed), found {found}"
        )
    scanner.pos += 1
    value_column = scanner.column
    value = scanner.take_while(VALUE_CHARACTERS)
    if scanner.at_end():
        raise scanner.fail("the value is not closed with '\"'")
    if scanner.peek() != '"':
        raise scanner.fail(f"character {scanner.peek()!r} is not allowed in a value")
    scanner.pos += 1
    return Filter(
        field=field_, op=op, value=value, key=key, column=start, value_column=value_column
    )


def _parse_key(scanner: _Scanner, name: str) -> str:
    scanner.pos += 1  # "{"
    key = scanner.take_while(KEY_CHARACTERS)
    if scanner.at_end():
        raise scanner.fail(f"the key of {name}{{ is not closed with '}}'")
    if scanner.peek() != "}":
        raise scanner.fail(f"character {scanner.peek()!r} is not allowed in a key")
    if not key:
        raise scanner.fail(f"the key of {name}{{}} is empty")
    scanner.pos += 1
    return key


def _parse_operator(scanner: _Scanner, name: str) -> Operator:
    rest = scanner.text[scanner.pos :]
    for op in (Operator.EQUAL, Operator.NOT_EQUAL):
        if rest.startswith(op.value):
            scanner.pos += len(op.value)
            return op
    for assignment in ASSIGNMENTS:
        if rest.startswith(assignment):
            raise scanner.fail(
                f"operator {assignment!r} assigns; discovery rules only match with == or !="
            )
    if scanner.peek() == " ":
        raise scanner.fail(f"no space is allowed between {name} and its operator")
    raise scanner.fail(f"expected == or != after {name}, found {scanner.peek() or 'the end'!r}")
