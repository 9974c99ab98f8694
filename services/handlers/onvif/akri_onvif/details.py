"""ONVIF ``discoveryDetails``: the four filter lists and the probe's collection window.

```yaml
ipAddresses:  {action: Include, items: [10.0.0.5]}
macAddresses: {action: Exclude, items: []}
scopes:       {items: ["onvif://www.onvif.org/name/lobby"]}
uuids:        {action: Exclude, items: [...]}
discoveryTimeoutSeconds: 1
describeMedia: false   # beyond upstream: media profiles, stream URIs and the announced name
```

Every key is optional; ``action`` defaults to ``Include`` as upstream's does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from akri_handler_sdk import InvalidDetailsError
from akri_handler_sdk.details import load_mapping

DEFAULT_DISCOVERY_TIMEOUT_SECONDS = 1.0
MAX_DISCOVERY_TIMEOUT_SECONDS = 60.0

_FILTER_FIELDS = {
    "ipAddresses": "ip_addresses",
    "macAddresses": "mac_addresses",
    "scopes": "scopes",
    "uuids": "uuids",
}


class FilterAction(enum.Enum):
    INCLUDE = "Include"
    EXCLUDE = "Exclude"


@dataclass(frozen=True)
class FilterList:
    """Upstream's ``FilterList``: items and whether matching ones are kept or dropped."""

    items: tuple[str, ...]
    action: FilterAction = FilterAction.INCLUDE


@dataclass(frozen=True)
class OnvifDetails:
    """What one Configuration asks of the ONVIF handler."""

    ip_addresses: FilterList | None = None
    mac_addresses: FilterList | None = None
    scopes: FilterList | None = None
    uuids: FilterList | None = None
    discovery_timeout_seconds: float = DEFAULT_DISCOVERY_TIMEOUT_SECONDS
    describe_media: bool = False


def parse_details(text: str) -> OnvifDetails:
    """Parses the details (YAML or JSON; empty means no filters); raises ``InvalidDetailsError``."""
    document = load_mapping(text, expected="of filters", empty_ok=True)
    filters = {
        attribute: _filter_list(key, document[key])
        for key, attribute in _FILTER_FIELDS.items()
        if document.get(key) is not None
    }
    return OnvifDetails(
        **filters,
        discovery_timeout_seconds=_timeout(document.get("discoveryTimeoutSeconds")),
        describe_media=_flag("describeMedia", document.get("describeMedia", False)),
    )


def _flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidDetailsError(field, f"expected true or false, got {type(value).__name__}")
    return value


def _filter_list(field: str, value: Any) -> FilterList:
    if not isinstance(value, dict):
        raise InvalidDetailsError(field, f"expected a mapping with items and action, got {value!r}")
    items = value.get("items", [])
    if items is None:
        items = []
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InvalidDetailsError(f"{field}.items", f"expected a list of strings, got {items!r}")
    action = value.get("action", FilterAction.INCLUDE.value)
    try:
        parsed_action = FilterAction(action)
    except ValueError:
        raise InvalidDetailsError(
            f"{field}.action", f"expected Include or Exclude, got {action!r}"
        ) from None
    return FilterList(items=tuple(items), action=parsed_action)


def _timeout(value: Any) -> float:
    if value is None:
        return DEFAULT_DISCOVERY_TIMEOUT_SECONDS
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidDetailsError("discoveryTimeoutSeconds", f"expected a number, got {value!r}")
    if not 0 < value <= MAX_DISCOVERY_TIMEOUT_SECONDS:
        raise InvalidDetailsError(
            "discoveryTimeoutSeconds",
            f"expected more than 0 and at most {MAX_DISCOVERY_TIMEOUT_SECONDS:g}, got {value!r}",
        )
    return float(value)
