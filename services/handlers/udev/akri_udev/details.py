"""udev's ``discoveryDetails`` (``udevRules``, ``groupRecursive``, ``permissions``) and the
``discoveryProperties`` it understands (``devicePluginResourceName``, ``vfioPassthrough``).

Everything wrong is reported as ``InvalidDetailsError`` naming the field and the value, which the SDK
answers with gRPC ``INVALID_ARGUMENT``: a rule upstream rejects names ``udevRules[i]`` with its column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from akri_common.shown import shown
from akri_handler_sdk import InvalidDetailsError
from akri_handler_sdk.details import load_mapping
from akri_udev.query import Query, compile_rules
from akri_udev.rules import Rule, RuleSyntaxError, parse_rules

DEFAULT_PERMISSIONS = "rwm"
#: Upstream accepts exactly these (its serde validator), nothing else (not "mw", not "wr").
PERMISSIONS = ("r", "w", "m", "rw", "rm", "wm", "rwm")
RESOURCE_NAME_PROPERTY = "devicePluginResourceName"
VFIO_PROPERTY = "vfioPassthrough"


@dataclass(frozen=True)
class UdevDetails:
    """What one Configuration asks the udev handler for."""

    rules: tuple[Rule, ...]
    queries: tuple[Query, ...]
    group_recursive: bool = False
    permissions: str = DEFAULT_PERMISSIONS
    resource_name: str | None = None
    vfio_passthrough: bool = False


def parse_details(text: str, properties: Mapping[str, bytes | None] | None = None) -> UdevDetails:
    """Parses and validates the details and the extras; raises ``InvalidDetailsError``."""
    document = _load(text)
    rules_value = document.get("udevRules")
    if rules_value is None:
        raise InvalidDetailsError("udevRules", "is required (a list of udev rule strings)")
    if not isinstance(rules_value, list) or not all(isinstance(r, str) for r in rules_value):
        raise InvalidDetailsError(
            "udevRules", f"expected a list of strings, got {shown(rules_value)}"
        )
    group_recursive = document.get("groupRecursive", False)
    if not isinstance(group_recursive, bool):
        raise InvalidDetailsError(
            "groupRecursive", f"expected true or false, got {shown(group_recursive)}"
        )
    permissions = document.get("permissions", DEFAULT_PERMISSIONS)
    if permissions not in PERMISSIONS:
        raise InvalidDetailsError(
            "permissions",
            f"{shown(permissions)} is not a valid permission combination"
            f" (expected one of {', '.join(PERMISSIONS)})",
        )
    try:
        rules = parse_rules(rules_value)
        queries = compile_rules(rules)
    except RuleSyntaxError as err:
        raise InvalidDetailsError(
            f"udevRules[{err.index}]", f"column {err.column}: {err.reason} (in {shown(err.text)})"
        ) from err
    extras = properties or {}
    return UdevDetails(
        rules=rules,
        queries=queries,
        group_recursive=group_recursive,
        permissions=permissions,
        resource_name=_text(extras.get(RESOURCE_NAME_PROPERTY)),
        vfio_passthrough=(_text(extras.get(VFIO_PROPERTY)) or "").strip().lower() == "true",
    )


def _load(text: str) -> dict[str, object]:
    return load_mapping(text, expected="with a udevRules list")


def _text(value: bytes | None) -> str | None:
    """A property's value as text; upstream ignores one that is not UTF-8."""
    if value is None:
        return None
    try:
        return value.decode()
    except UnicodeDecodeError:
        return None
