"""Deciding whether a Configuration may be stored: every problem, each with its path and reason.

Three passes, all pure: the object against the CRD schema with the cluster's ``PodSpec``,
``JobSpec``, ``ServiceSpec`` and ``ObjectMeta`` inside (``openapi``); the rules a schema cannot
say (a discovery handler must be named, property names are unique, capacity is not negative nor
above ``MAX_CAPACITY``, ``discoveryDetails`` are what the handler would accept: see ``details``); and last ``parse_configuration``, the parser the
agent and the controller use, so that nothing they would refuse gets in. A problem the parser
reports at a path already reported is not repeated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from akri_common.crds import API_VERSION
from akri_common.crds.configuration import KIND, MAX_CAPACITY, parse_configuration
from akri_common.crds.errors import InvalidResourceError
from akri_webhook.details import details_problems
from akri_webhook.openapi import check
from akri_webhook.problems import Problem, index, join, type_name, unique
from akri_webhook.schemas import SchemaSet, configuration_schema

HANDLER = "spec.discoveryHandler"
_SCHEMA = configuration_schema()


def validate_configuration(obj: Any, schemas: SchemaSet) -> list[Problem]:
    """Every problem of ``obj`` as a Configuration; empty when it may be admitted."""
    if not isinstance(obj, Mapping):
        return [Problem("(document)", f"expected an object, got {type_name(obj)}")]
    problems = check(obj, _SCHEMA, components=schemas.components)
    problems += _rules(obj)
    try:
        parse_configuration(obj)
    except InvalidResourceError as err:
        if not any(_related(err.path, p.path) for p in problems):
            problems.append(Problem(err.path, err.reason))
    return unique(problems)


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith((f"{b}.", f"{b}[")) or b.startswith((f"{a}.", f"{a}["))


def _rules(obj: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    if obj.get("apiVersion", API_VERSION) != API_VERSION:
        found.append(Problem("apiVersion", f"expected {API_VERSION}"))
    if obj.get("kind", KIND) != KIND:
        found.append(Problem("kind", f"expected {KIND}"))
    spec = obj.get("spec")
    if spec is None:
        return [*found, Problem("spec", "is required")]
    if not isinstance(spec, Mapping):
        return found  # the schema check reported the type
    capacity = spec.get("capacity")
    if isinstance(capacity, int) and not isinstance(capacity, bool) and capacity < 0:
        found.append(Problem("spec.capacity", "must not be negative"))
    elif isinstance(capacity, int) and not isinstance(capacity, bool) and capacity > MAX_CAPACITY:
        found.append(
            Problem("spec.capacity", f"must be at most {MAX_CAPACITY} (slots per Instance)")
        )
    handler = spec.get("discoveryHandler")
    if handler is None:
        found.append(Problem(HANDLER, "is required"))
    elif isinstance(handler, Mapping):
        found += _handler_rules(handler)
    return found


def _handler_rules(handler: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    name = handler.get("name")
    if name is None or name == "":
        found.append(Problem(f"{HANDLER}.name", "is required: it names the discovery handler"))
    properties = handler.get("discoveryProperties")
    if isinstance(properties, list):
        seen: set[str] = set()
        for i, item in enumerate(properties):
            prop_name = item.get("name") if isinstance(item, Mapping) else None
            if isinstance(prop_name, str):
                if prop_name in seen:
                    path = join(index(f"{HANDLER}.discoveryProperties", i), "name")
                    found.append(Problem(path, f"duplicate property name {prop_name!r}"))
                seen.add(prop_name)
    details = handler.get("discoveryDetails")
    if isinstance(name, str) and isinstance(details, str) and details:
        found += details_problems(name, details, f"{HANDLER}.discoveryDetails")
    return found
