"""Typed discovery errors, each saying whether retrying can help."""

from __future__ import annotations


class DiscoveryError(Exception):
    """Base of the discovery core's errors."""

    retryable: bool = True


class InvalidDiscoveryDetailsError(DiscoveryError):
    """The handler refused ``discoveryDetails`` (gRPC ``INVALID_ARGUMENT``); the user must fix them."""

    retryable = False

    def __init__(self, *, endpoint: str, message: str) -> None:
        self.endpoint = endpoint
        self.message = message
        super().__init__(f"discovery handler at {endpoint} rejected discoveryDetails: {message}")


class HandlerUnreachableError(DiscoveryError):
    """The agent could not connect to the endpoint at all (the connection failed); it is forgotten
    until it registers again."""

    def __init__(self, *, endpoint: str, detail: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"discovery handler at {endpoint} is unreachable: {detail}")


class HandlerFailedError(DiscoveryError):
    """The handler was reached but failed this ``Discover`` before its first list (an error in the
    handler, or details it answers with a status other than ``INVALID_ARGUMENT``). It concerns this
    Configuration only: the endpoint stays registered and the call is retried with back-off."""

    def __init__(self, *, endpoint: str, detail: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"discovery handler at {endpoint} failed Discover: {detail}")


class HandlerStreamLostError(DiscoveryError):
    """A stream that had delivered devices ended or broke; reconnecting may help."""

    def __init__(self, *, endpoint: str, detail: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"discovery stream from {endpoint} was lost: {detail}")


class UnresolvedPropertyError(DiscoveryError):
    """A ``discoveryProperties`` entry could not be resolved (missing Secret key, no API access…)."""

    def __init__(self, *, index: int, name: str, reason: str, retryable: bool) -> None:
        self.index = index
        self.name = name
        self.retryable = retryable
        super().__init__(f"spec.discoveryHandler.discoveryProperties[{index}] ({name}): {reason}")
