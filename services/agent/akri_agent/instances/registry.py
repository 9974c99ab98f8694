"""The node's device registry: for each Instance this node wants, the device behind it.

Written by the Instance writer (the Configuration reconciler) from the desired Instances, keyed by
Instance (namespace and name); read by the device plugins, which subscribe to its changes so that a
device's new mounts, device nodes or properties reach the next ``Allocate`` at once. The plugins
never call back into discovery. Pure bookkeeping in memory, rebuilt from discovery after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from akri_common.devices import Device
from akri_common.ids import ConfigurationName, InstanceName
from akri_common.k8s.store import ObjectKey

Listener = Callable[[ObjectKey], None]


class DeviceRegistry:
    def __init__(self) -> None:
        self._devices: dict[ObjectKey, Device] = {}
        self._by_configuration: dict[tuple[str, ConfigurationName], set[ObjectKey]] = {}
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """``listener(key)`` is called for every Instance whose device was added, changed or
        removed."""
        self._listeners.append(listener)

    def get(self, key: ObjectKey) -> Device | None:
        return self._devices.get(key)

    def __len__(self) -> int:
        return len(self._devices)

    def replace(
        self,
        *,
        namespace: str,
        configuration: ConfigurationName,
        devices: Mapping[InstanceName, Device],
    ) -> tuple[ObjectKey, ...]:
        """Makes the Configuration's entries exactly ``devices``; returns (and announces) the keys
        that changed."""
        scope = (namespace, configuration)
        fresh = {ObjectKey(namespace=namespace, name=name): d for name, d in devices.items()}
        before = self._by_configuration.get(scope, set())
        changed = sorted(
            key for key in before | set(fresh) if self._devices.get(key) != fresh.get(key)
        )
        for key in before - set(fresh):
            self._devices.pop(key, None)
        self._devices.update(fresh)
        if fresh:
            self._by_configuration[scope] = set(fresh)
        else:
            self._by_configuration.pop(scope, None)
        for key in changed:
            for listener in self._listeners:
                listener(key)
        return tuple(changed)
