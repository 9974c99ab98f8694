"""Checking a JSON value against an OpenAPI v3 schema graph, reporting every problem with its path.

It understands the subset the Kubernetes API server publishes (``/openapi/v3``) and that structural
CRD schemas use: ``type``, ``properties``, ``additionalProperties``, ``items``, ``required``,
``enum``, ``pattern``, integer ``format`` ranges, ``$ref`` (also wrapped in ``allOf``), ``oneOf``
over types (``Quantity``, ``IntOrString``) or over ``required`` lists (a CRD's "exactly one of"),
``x-kubernetes-int-or-string`` and ``x-kubernetes-preserve-unknown-fields``.

It reads a value the way the API server decodes one: ``null`` means unset, a field a schema does
not declare is an unknown field (the API server's strict decoding), a value of another JSON type
is a type error. An empty string passes an ``enum`` (Go's zero value, which the API server
defaults). Checks that need a running cluster (quantities' grammar, names' syntax, cross-field
rules) are left to the API server when the broker objects are created.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from akri_webhook.problems import Problem, index, join, type_name

Schema = Mapping[str, Any]
REF_PREFIX = "#/components/schemas/"
_INTEGER_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "a list",
    "object": "an object",
}


class SchemaError(ValueError):
    """A schema the checker cannot follow (a ``$ref`` to a missing definition)."""


def check(
    value: Any, schema: Schema, *, components: Mapping[str, Schema], path: str = ""
) -> list[Problem]:
    """Every way ``value`` (at ``path``) does not fit ``schema``; ``$ref``s resolve in ``components``."""
    found: list[Problem] = []
    _Checker(components, found).check(value, schema, path)
    return found


class _Checker:
    def __init__(self, components: Mapping[str, Schema], found: list[Problem]) -> None:
        self._components = components
        self._found = found

    def _add(self, path: str, reason: str) -> None:
        self._found.append(Problem(path or "(document)", reason))

    def _resolve(self, ref: str) -> Schema:
        name = ref.removeprefix(REF_PREFIX)
        try:
            return self._components[name]
        except KeyError:
            raise SchemaError(f"schema reference {ref!r} names no known definition") from None

    def check(self, value: Any, schema: Schema, path: str) -> None:
        if value is None:
            return
        ref = schema.get("$ref")
        if ref is not None:
            self.check(value, self._resolve(ref), path)
        for part in schema.get("allOf", ()):
            self.check(value, part, path)
        if schema.get("x-kubernetes-int-or-string"):
            if not (_has_type(value, "integer") or _has_type(value, "string")):
                self._add(path, f"expected an integer or a string, got {type_name(value)}")
            return
        one_of = schema.get("oneOf")
        if one_of and not self._one_of(value, one_of, path):
            return
        kind = schema.get("type")
        if kind is None:
            return
        if not _has_type(value, kind):
            self._add(path, f"expected {_TYPE_NAMES.get(kind, kind)}, got {type_name(value)}")
        elif kind == "object":
            self._object(value, schema, path)
        elif kind == "array":
            self._array(value, schema, path)
        elif kind == "string":
            self._string(value, schema, path)
        elif kind == "integer":
            self._integer(value, schema, path)

    def _one_of(self, value: Any, alternatives: list[Schema], path: str) -> bool:
        """Checks a ``oneOf``; returns whether the remaining keywords still apply."""
        types = [str(alt["type"]) for alt in alternatives if "type" in alt]
        if len(types) == len(alternatives):
            if not any(_has_type(value, t) for t in types):
                wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
                self._add(path, f"expected {wanted}, got {type_name(value)}")
                return False
            return True
        groups = [list(alt["required"]) for alt in alternatives if "required" in alt]
        if isinstance(value, Mapping) and len(groups) == len(alternatives):
            matched = [g for g in groups if all(value.get(k) is not None for k in g)]
            if len(matched) != 1:
                names = ", ".join(" and ".join(g) for g in groups)
                found = " and ".join(" and ".join(g) for g in matched) or "neither"
                self._add(path, f"needs exactly one of {names} (found {found})")
        return True

    def _array(self, value: list[Any], schema: Schema, path: str) -> None:
        items = schema.get("items")
        if items is not None:
            for i, item in enumerate(value):
                self.check(item, items, index(path, i))

    def _integer(self, value: int, schema: Schema, path: str) -> None:
        bounds = _INTEGER_RANGES.get(schema.get("format", ""))
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            self._add(path, f"out of range for {schema['format']}")
        minimum = schema.get("minimum")
        if minimum is not None and value < minimum:
            self._add(path, f"must be at least {minimum}")

    def _object(self, value: Mapping[str, Any], schema: Schema, path: str) -> None:
        properties: Mapping[str, Schema] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if value.get(name) is None:
                self._add(join(path, name), "is required")
        extra = schema.get("additionalProperties")
        open_ended = (
            schema.get("x-kubernetes-preserve-unknown-fields")
            or extra is True
            or (not properties and extra is None)
        )
        for key, item in value.items():
            declared = properties.get(key)
            if declared is not None:
                self.check(item, declared, join(path, key))
            elif isinstance(extra, Mapping):
                self.check(item, extra, join(path, key))
            elif not open_ended:
                self._add(join(path, key), _unknown_field(key, properties))

    def _string(self, value: str, schema: Schema, path: str) -> None:
        allowed = schema.get("enum")
        if allowed and value and value not in allowed:
            shown = value if len(value) <= 40 else value[:37] + "..."
            self._add(path, f"must be one of {', '.join(map(str, allowed))} (got {shown!r})")
        pattern = schema.get("pattern")
        if pattern is not None and not _compiled(pattern).search(value):
            self._add(path, f"must match {pattern}")


_PREDICATES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, Mapping),
}


def _has_type(value: Any, kind: str) -> bool:
    predicate = _PREDICATES.get(kind)
    return predicate is None or predicate(value)


def _unknown_field(key: str, properties: Mapping[str, Schema]) -> str:
    close = difflib.get_close_matches(key, list(properties), n=1)
    return f'unknown field (did you mean "{close[0]}"?)' if close else "unknown field"


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
