"""Typed errors of the device plugins, each saying whether trying again later can help."""

from __future__ import annotations


class DevicePluginError(Exception):
    """Base class. ``retryable``: whether the same operation may succeed later."""

    retryable = True


class SlotUnavailableError(DevicePluginError):
    """A slot could not be claimed: another node or plugin holds it (HTTP 409), or the device id
    is not one this plugin offers. kubelet sees the Allocate fail with this message."""

    retryable = False

    def __init__(self, *, instance: str, slot: str, reason: str) -> None:
        self.instance = instance
        self.slot = slot
        super().__init__(f"Unable to claim slot {slot} of Instance {instance}: {reason}")


class SlotWriteError(DevicePluginError):
    """``deviceUsage`` could not be written (API server unreachable, refused); may pass later."""

    def __init__(self, *, instance: str, reason: str) -> None:
        self.instance = instance
        super().__init__(f"cannot write deviceUsage of Instance {instance}: {reason}")


class RegistrationError(DevicePluginError):
    """kubelet did not accept the plugin (not reachable, or it refused the request)."""

    def __init__(self, *, resource: str, reason: str) -> None:
        self.resource = resource
        super().__init__(f"registering {resource} with kubelet failed: {reason}")


class PodResourcesError(DevicePluginError):
    """kubelet's pod-resources API did not answer the List call."""
