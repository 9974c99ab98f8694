"""How one parsed rule is evaluated, split the way upstream splits it.

1. ``==`` on ``DEVPATH``, ``KERNEL``, ``TAG``, ``SUBSYSTEM``, ``ATTR{k}``, ``ENV{k}`` are enumerator
   filters with libudev's glob semantics;
2. ``!=`` on ``ATTR{k}`` and ``SUBSYSTEM`` are enumerator "nomatch" filters;
3. everything else is checked after scanning, the value being a regular expression that must match
   the whole string (compiled here with RE2, linear-time like upstream's Rust ``regex``, so that a
   bad one is rejected with its rule and column and none can backtrack).

``EnumeratorFilters.pushed`` says which of group 1 and 2 libudev can apply itself (the rest are
checked by :mod:`akri_udev.matching` alone, with the same semantics).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from akri_udev.regex import Regex, RegexError, compile_regex
from akri_udev.rules import Field, Filter, Operator, Rule, RuleSyntaxError

#: ``==`` filters libudev's enumerator applies (glob), and ``!=`` filters it applies as "nomatch".
ENUMERATOR_MATCH_FIELDS = frozenset(
    {Field.DEVPATH, Field.KERNEL, Field.TAG, Field.SUBSYSTEM, Field.ATTR, Field.ENV}
)
ENUMERATOR_NOMATCH_FIELDS = frozenset({Field.ATTR, Field.SUBSYSTEM})
#: Fields that match the device or any of its ancestors.
HIERARCHY_FIELDS = frozenset(
    {Field.SUBSYSTEMS, Field.ATTRS, Field.DRIVERS, Field.KERNELS, Field.TAGS}
)
#: Fields whose post-scan check reads the device's properties.
PROPERTY_FIELDS = frozenset({Field.ENV, Field.TAG, Field.TAGS})


@dataclass(frozen=True)
class EnumeratorFilters:
    """Groups 1 and 2, in libudev's terms (several subsystems, sysnames or properties: any;
    several attributes or tags: all; a nomatch: none)."""

    subsystems: tuple[str, ...] = ()
    nomatch_subsystems: tuple[str, ...] = ()
    sysnames: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    nomatch_attributes: tuple[tuple[str, str], ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] = ()
    devpaths: tuple[str, ...] = ()


@dataclass(frozen=True)
class PostFilter:
    """Group 3: a whole-string regular expression applied after scanning."""

    field: Field
    op: Operator
    pattern: Regex
    key: str | None = None

    @property
    def equal(self) -> bool:
        return self.op is Operator.EQUAL


@dataclass(frozen=True)
class Query:
    """One rule, ready to evaluate."""

    index: int
    enumerator: EnumeratorFilters
    post: tuple[PostFilter, ...]

    @property
    def attribute_names(self) -> frozenset[str]:
        """The sysfs attributes its filters read (from the device, or ancestors for ATTRS)."""
        names = {name for name, _ in self.enumerator.attributes}
        names |= {name for name, _ in self.enumerator.nomatch_attributes}
        names |= {f.key for f in self.post if f.field is Field.ATTRS and f.key is not None}
        return frozenset(names)

    @property
    def reads_ancestors(self) -> bool:
        return any(f.field in HIERARCHY_FIELDS for f in self.post)

    @property
    def reads_properties(self) -> bool:
        return bool(
            self.enumerator.properties
            or self.enumerator.tags
            or any(f.field in PROPERTY_FIELDS for f in self.post)
        )


def is_enumerator_filter(item: Filter) -> bool:
    """True for groups 1 and 2 (libudev-style glob), False for group 3 (regular expression)."""
    if item.op is Operator.EQUAL:
        return item.field in ENUMERATOR_MATCH_FIELDS
    return item.field in ENUMERATOR_NOMATCH_FIELDS


def compile_rule(rule: Rule) -> Query:
    """Splits a rule into enumerator and post-scan filters; a post-scan value that is not a valid
    regular expression raises ``RuleSyntaxError`` at the value's column."""
    match: dict[Field, list[str]] = {}
    nomatch: dict[Field, list[str]] = {}
    match_keyed: dict[Field, list[tuple[str, str]]] = {}
    nomatch_keyed: dict[Field, list[tuple[str, str]]] = {}
    post: list[PostFilter] = []
    for item in rule.filters:
        if not is_enumerator_filter(item):
            post.append(_compile_post(rule, item))
            continue
        equal = item.op is Operator.EQUAL
        if item.key is not None:
            keyed = match_keyed if equal else nomatch_keyed
            keyed.setdefault(item.field, []).append((item.key, item.value))
        else:
            plain = match if equal else nomatch
            plain.setdefault(item.field, []).append(item.value)
    enumerator = EnumeratorFilters(
        subsystems=tuple(match.get(Field.SUBSYSTEM, ())),
        nomatch_subsystems=tuple(nomatch.get(Field.SUBSYSTEM, ())),
        sysnames=tuple(match.get(Field.KERNEL, ())),
        attributes=tuple(match_keyed.get(Field.ATTR, ())),
        nomatch_attributes=tuple(nomatch_keyed.get(Field.ATTR, ())),
        properties=tuple(match_keyed.get(Field.ENV, ())),
        tags=tuple(match.get(Field.TAG, ())),
        devpaths=tuple(match.get(Field.DEVPATH, ())),
    )
    return Query(index=rule.index, enumerator=enumerator, post=tuple(post))


def compile_rules(rules: Iterable[Rule]) -> tuple[Query, ...]:
    return tuple(compile_rule(rule) for rule in rules)


def _compile_post(rule: Rule, item: Filter) -> PostFilter:
    try:
        pattern = compile_regex(item.value)
    except RegexError as err:
        raise RuleSyntaxError(
            index=rule.index,
            column=item.value_column + err.pos,
            reason=f"the value of {item.field}{item.op} is not a valid regular expression ({err})",
            text=rule.text,
        ) from err
    return PostFilter(field=item.field, op=item.op, pattern=pattern, key=item.key)
