"""OPC UA ``discoveryDetails``: where to ask (discovery URLs) and which applications to keep.

```yaml
opcuaDiscoveryMethod:
  standard:
    discoveryUrls: ["opc.tcp://lds.example:4840/"]   # default: opc.tcp://localhost:4840/
applicationNames: {action: Exclude, items: ["Test Server"]}   # optional
```

As upstream: every discovery URL must be ``opc.tcp://host:port`` (the port is mandatory), and
``action`` defaults to ``Include``. A wrong value is an ``InvalidDetailsError`` naming the field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from akri_handler_sdk import InvalidDetailsError
from akri_handler_sdk.details import load_mapping

DEFAULT_DISCOVERY_URL = "opc.tcp://localhost:4840/"
SCHEME = "opc.tcp"
URLS_FIELD = "opcuaDiscoveryMethod.standard.discoveryUrls"
_SHOWN = 80  # characters of a bad value quoted back in an error


class FilterAction(enum.Enum):
    INCLUDE = "Include"
    EXCLUDE = "Exclude"


@dataclass(frozen=True)
class FilterList:
    """Upstream's ``FilterList``: items and whether matching ones are kept or dropped."""

    items: tuple[str, ...]
    action: FilterAction = FilterAction.INCLUDE


@dataclass(frozen=True)
class OpcuaDetails:
    """What one Configuration asks of the OPC UA handler."""

    discovery_urls: tuple[str, ...] = (DEFAULT_DISCOVERY_URL,)
    application_names: FilterList | None = None


def parse_details(text: str) -> OpcuaDetails:
    """Parses the details (YAML or JSON; empty means the defaults); raises ``InvalidDetailsError``."""
    document = load_mapping(text, expected="with opcuaDiscoveryMethod", empty_ok=True)
    urls = _discovery_urls(document.get("opcuaDiscoveryMethod"))
    names = document.get("applicationNames")
    return OpcuaDetails(
        discovery_urls=urls,
        application_names=None if names is None else _filter_list("applicationNames", names),
    )


def check_discovery_url(field: str, url: object) -> str:
    """``url`` when it is ``opc.tcp://host:port[/path]``; else ``InvalidDetailsError(field)``."""
    if not isinstance(url, str):
        raise InvalidDetailsError(field, f"expected a string, got {_shown(url)}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise InvalidDetailsError(field, f"{_shown(url)} is not a URL ({err})") from None
    if parts.scheme != SCHEME:
        raise InvalidDetailsError(field, f"{_shown(url)} does not start with {SCHEME}://")
    if not parts.hostname:
        raise InvalidDetailsError(field, f"{_shown(url)} has no host")
    if port is None:
        raise InvalidDetailsError(field, f"{_shown(url)} has no port (opc.tcp://host:port)")
    return url


def _discovery_urls(method: Any) -> tuple[str, ...]:
    if method is None:
        return (DEFAULT_DISCOVERY_URL,)
    if not isinstance(method, dict):
        raise InvalidDetailsError(
            "opcuaDiscoveryMethod", f"expected a mapping with standard, got {_shown(method)}"
        )
    unknown = sorted(str(key) for key in method if key != "standard")
    if unknown:
        raise InvalidDetailsError(
            "opcuaDiscoveryMethod", f"unknown method {_shown(unknown[0])} (expected standard)"
        )
    standard = method.get("standard")
    if standard is None:
        return (DEFAULT_DISCOVERY_URL,)
    if not isinstance(standard, dict):
        raise InvalidDetailsError(
            "opcuaDiscoveryMethod.standard",
            f"expected a mapping with discoveryUrls, got {_shown(standard)}",
        )
    urls = standard.get("discoveryUrls")
    if urls is None:
        return (DEFAULT_DISCOVERY_URL,)
    if not isinstance(urls, list):
        raise InvalidDetailsError(URLS_FIELD, f"expected a list of URLs, got {_shown(urls)}")
    if not urls:
        raise InvalidDetailsError(URLS_FIELD, "expected at least one URL")
    return tuple(check_discovery_url(f"{URLS_FIELD}[{i}]", url) for i, url in enumerate(urls))


def _filter_list(field: str, value: Any) -> FilterList:
    if not isinstance(value, dict):
        raise InvalidDetailsError(field, f"expected a mapping with items and action, got {value!r}")
    items = value.get("items", [])
    if items is None:
        items = []
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InvalidDetailsError(
            f"{field}.items", f"expected a list of strings, got {_shown(items)}"
        )
    action = value.get("action", FilterAction.INCLUDE.value)
    try:
        parsed_action = FilterAction(action)
    except ValueError:
        raise InvalidDetailsError(
            f"{field}.action", f"expected Include or Exclude, got {_shown(action)}"
        ) from None
    return FilterList(items=tuple(items), action=parsed_action)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 3]}..."
