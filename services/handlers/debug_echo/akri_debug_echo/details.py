"""debugEcho's ``discoveryDetails``: ``descriptions: [<string>, ...]`` in YAML or JSON."""

from __future__ import annotations

from dataclasses import dataclass

from akri_common.shown import shown
from akri_handler_sdk import InvalidDetailsError
from akri_handler_sdk.details import load_mapping


@dataclass(frozen=True)
class DebugEchoDetails:
    """The descriptions to report, one device each, in the Configuration's order."""

    descriptions: tuple[str, ...]


def parse_details(text: str) -> DebugEchoDetails:
    """Parses the details; raises ``InvalidDetailsError`` naming the field and what was wrong."""
    document = load_mapping(text, expected="with a descriptions list")
    if "descriptions" not in document:
        raise InvalidDetailsError("descriptions", "is required (a list of strings)")
    descriptions = document["descriptions"]
    if not isinstance(descriptions, list) or not all(isinstance(d, str) for d in descriptions):
        raise InvalidDetailsError(
            "descriptions", f"expected a list of strings, got {shown(descriptions)}"
        )
    return DebugEchoDetails(descriptions=tuple(descriptions))
