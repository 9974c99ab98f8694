"""The ``Instance`` custom resource: one discovered device (or one per node, if not shared).

``InstanceSpec.to_dict`` gives the canonical JSON of upstream (camelCase keys, every field present),
``instance_manifest`` the whole object an agent applies, owned by its Configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from akri_common.crds import API_VERSION
from akri_common.crds.configuration import KIND as CONFIGURATION_KIND
from akri_common.ids import ConfigurationName, InstanceName, NodeName

KIND = "Instance"


@dataclass(frozen=True)
class InstanceSpec:
    configuration_name: ConfigurationName
    cdi_name: str
    capacity: int
    broker_properties: Mapping[str, str] = field(default_factory=dict)
    shared: bool = False
    nodes: tuple[NodeName, ...] = ()
    device_usage: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "configurationName": self.configuration_name,
            "cdiName": self.cdi_name,
            "capacity": self.capacity,
            "brokerProperties": dict(self.broker_properties),
            "shared": self.shared,
            "nodes": list(self.nodes),
            "deviceUsage": dict(self.device_usage),
        }


@dataclass(frozen=True)
class OwnerConfiguration:
    """What an Instance's ownerReference needs to know of its Configuration."""

    name: ConfigurationName
    uid: str


def owner_reference(owner: OwnerConfiguration) -> dict[str, Any]:
    """The controller ownerReference of an Instance to its Configuration."""
    return {
        "apiVersion": API_VERSION,
        "kind": CONFIGURATION_KIND,
        "name": owner.name,
        "uid": owner.uid,
        "controller": True,
    }


def instance_manifest(
    *,
    name: InstanceName,
    namespace: str,
    spec: InstanceSpec,
    owner: OwnerConfiguration,
) -> dict[str, Any]:
    """The Instance object an agent applies, with a controller ownerReference to the Configuration."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": spec.to_dict(),
    }
