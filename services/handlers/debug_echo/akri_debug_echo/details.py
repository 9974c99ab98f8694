"""debugEcho's ``discoveryDetails``: ``descriptions: [<string>, ...]`` in YAML or JSON."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from akri_handler_sdk import InvalidDetailsError


@dataclass(frozen=True)
class DebugEchoDetails:
    """The descriptions to report, one device each, in the Configuration's order."""

    descriptions: tuple[str, ...]


def parse_details(text: str) -> DebugEchoDetails:
    """Parses the details; raises ``InvalidDetailsError`` naming the field and what was wrong."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        reason = " ".join(str(err).split())
        raise InvalidDetailsError("discoveryDetails", f"not valid YAML or JSON ({reason})") from err
    if not isinstance(document, dict):
        kind = "nothing" if document is None else type(document).__name__
        raise InvalidDetailsError(
            "discoveryDetails", f"expected a mapping with a descriptions list, got {kind}"
        )
    if "descriptions" not in document:
        raise InvalidDetailsError("descriptions", "is required (a list of strings)")
    descriptions = document["descriptions"]
    if not isinstance(descriptions, list) or not all(isinstance(d, str) for d in descriptions):
        raise InvalidDetailsError(
            "descriptions", f"expected a list of strings, got {descriptions!r}"
        )
    return DebugEchoDetails(descriptions=tuple(descriptions))
