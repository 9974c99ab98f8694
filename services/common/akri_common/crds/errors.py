"""Typed errors for bad custom-resource input: each names the field's path and the offending value."""

from __future__ import annotations

from typing import Any

from akri_common.shown import shown


class InvalidResourceError(ValueError):
    """A Configuration or Instance that does not fit the ``akri.sh/v0`` schema.

    Retrying cannot help: the user must change the object. ``path`` is the dotted field path
    (``spec.discoveryHandler.name``), ``value`` what was found there.
    """

    def __init__(self, path: str, value: Any, reason: str) -> None:
        self.path = path
        self.value = value
        self.reason = reason
        super().__init__(f"{path}: {reason} (got {shown(value)})")
