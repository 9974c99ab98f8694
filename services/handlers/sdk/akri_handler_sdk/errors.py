"""Errors a handler raises and the SDK translates at its gRPC boundary."""

from __future__ import annotations


class InvalidDetailsError(ValueError):
    """The Configuration's ``discoveryDetails`` (or properties) are wrong; retrying cannot help.

    The servicer answers such a ``Discover`` call with gRPC ``INVALID_ARGUMENT`` and this message,
    which names the field and what was wrong with it.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class ServeError(RuntimeError):
    """The handler's gRPC server could not bind its endpoint (address in use, bad directory)."""
