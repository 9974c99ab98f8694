"""What the discovery handlers would refuse in ``discoveryDetails``, found at admission.

Every handler reads its details with the shared safe YAML reader (:mod:`akri_common.safe_yaml`,
the same limits: no alias explosion, at most 64 levels, no integer past 64 digits), so the webhook
reads them with it too, whatever the handler: a custom handler's details must at least be safe
YAML. For the handlers Akri-py ships it checks their fields as they do: udev (``udevRules``, a
list of strings; ``groupRecursive``; ``permissions``), debugEcho (``descriptions``, a list of
strings) and ONVIF (the four filter lists and ``discoveryTimeoutSeconds``). Paths continue into the
YAML (``spec.discoveryHandler.discoveryDetails.permissions``); reasons name types, not values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from akri_common import safe_yaml
from akri_webhook.problems import Problem, type_name

UDEV_PERMISSIONS = ("r", "w", "m", "rw", "rm", "rwm", "wm")
ONVIF_FILTERS = ("ipAddresses", "macAddresses", "scopes", "uuids")
ONVIF_ACTIONS = ("Include", "Exclude")
MAX_ONVIF_TIMEOUT_SECONDS = 60.0


def details_problems(handler: str, details: str, path: str) -> list[Problem]:
    """Every problem the handler named ``handler`` would find in ``details`` (at ``path``)."""
    check = _CHECKS.get(handler.lower())
    try:
        document = safe_yaml.load(details)
    except safe_yaml.UnsafeYamlError as err:
        where = f" at line {err.line}" if err.line is not None else ""
        kind = f"{handler} details" if check is not None else "discovery details"
        if err.line is None:  # refused by a limit, not a syntax error: say which
            return [Problem(path, f"is not safe YAML ({kind}): {err}")]
        return [Problem(path, f"is not valid YAML{where} ({kind})")]
    if check is None:
        return []
    return check(document, path)


def _udev(document: Any, path: str) -> list[Problem]:
    if not isinstance(document, Mapping):
        return [Problem(path, f"udev details must be a YAML mapping, got {type_name(document)}")]
    found: list[Problem] = []
    rules = document.get("udevRules")
    if rules is None:
        found.append(Problem(f"{path}.udevRules", "is required (a list of udev rules)"))
    elif not _strings(rules):
        found.append(Problem(f"{path}.udevRules", "expected a list of strings"))
    recursive = document.get("groupRecursive")
    if recursive is not None and not isinstance(recursive, bool):
        found.append(
            Problem(f"{path}.groupRecursive", f"expected a boolean, got {type_name(recursive)}")
        )
    permissions = document.get("permissions")
    if permissions is not None and permissions not in UDEV_PERMISSIONS:
        shown = (
            repr(permissions)
            if isinstance(permissions, str) and len(permissions) <= 10
            else type_name(permissions)
        )
        found.append(
            Problem(
                f"{path}.permissions",
                f"invalid udev device permissions: must be one of {', '.join(UDEV_PERMISSIONS)} (got {shown})",
            )
        )
    return found


def _debug_echo(document: Any, path: str) -> list[Problem]:
    if not isinstance(document, Mapping):
        return [
            Problem(path, f"debugEcho details must be a YAML mapping, got {type_name(document)}")
        ]
    descriptions = document.get("descriptions")
    if descriptions is None:
        return [Problem(f"{path}.descriptions", "is required (a list of strings)")]
    if not _strings(descriptions):
        return [Problem(f"{path}.descriptions", "expected a list of strings")]
    return []


def _onvif(document: Any, path: str) -> list[Problem]:
    if document is None:
        return []
    if not isinstance(document, Mapping):
        return [Problem(path, f"ONVIF details must be a YAML mapping, got {type_name(document)}")]
    found: list[Problem] = []
    for key in ONVIF_FILTERS:
        value = document.get(key)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            found.append(
                Problem(
                    f"{path}.{key}",
                    f"expected a mapping with items and action, got {type_name(value)}",
                )
            )
            continue
        items = value.get("items")
        if items is not None and not _strings(items):
            found.append(Problem(f"{path}.{key}.items", "expected a list of strings"))
        action = value.get("action")
        if action is not None and action not in ONVIF_ACTIONS:
            found.append(Problem(f"{path}.{key}.action", "expected Include or Exclude"))
    timeout = document.get("discoveryTimeoutSeconds")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            found.append(
                Problem(
                    f"{path}.discoveryTimeoutSeconds",
                    f"expected a number, got {type_name(timeout)}",
                )
            )
        elif not 0 < timeout <= MAX_ONVIF_TIMEOUT_SECONDS:
            found.append(
                Problem(
                    f"{path}.discoveryTimeoutSeconds",
                    f"expected more than 0 and at most {MAX_ONVIF_TIMEOUT_SECONDS:g}",
                )
            )
    return found


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_CHECKS: dict[str, Callable[[Any, str], list[Problem]]] = {
    "udev": _udev,
    "debugecho": _debug_echo,
    "onvif": _onvif,
}
