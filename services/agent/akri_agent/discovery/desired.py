"""The Instances a node wants for one Configuration, decided from the merged device lists.

Pure: given the Configuration, the latest list of every endpoint and this node's name, it returns
one ``DesiredInstance`` per distinct Instance name, in a stable order. The name hashes the device
id, with the node appended when the endpoint is not shared; ``brokerProperties`` are the device's
properties overlaid by the Configuration's; ``nodes`` is this node only (other nodes add themselves).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from akri_agent.discovery.model import EndpointDevices
from akri_common.crds.configuration import Configuration
from akri_common.crds.instance import InstanceSpec, OwnerConfiguration, instance_manifest
from akri_common.crds.naming import cdi_name, device_hash, instance_name
from akri_common.devices import Device
from akri_common.ids import DeviceId, InstanceName, NodeName


@dataclass(frozen=True)
class DesiredInstance:
    """An Instance this node wants, with the device it stands for."""

    name: InstanceName
    namespace: str
    spec: InstanceSpec
    device: Device
    digest: str

    def manifest(self, owner: OwnerConfiguration) -> dict[str, Any]:
        return instance_manifest(
            name=self.name, namespace=self.namespace, spec=self.spec, owner=owner
        )


def desired_instances(
    configuration: Configuration,
    lists: Iterable[EndpointDevices],
    *,
    node: NodeName,
) -> tuple[DesiredInstance, ...]:
    """One DesiredInstance per distinct name; the first endpoint (by uid) to report a device wins."""
    wanted: dict[InstanceName, DesiredInstance] = {}
    for entry in sorted(lists, key=lambda e: e.endpoint.uid):
        for device in entry.devices:
            digest = device_hash(DeviceId(device.id), shared=entry.endpoint.shared, node=node)
            name = instance_name(configuration.name, digest)
            if name in wanted:
                continue
            wanted[name] = DesiredInstance(
                name=name,
                namespace=configuration.namespace,
                digest=digest,
                device=device,
                spec=InstanceSpec(
                    configuration_name=configuration.name,
                    cdi_name=cdi_name(configuration.name, digest),
                    capacity=configuration.capacity,
                    broker_properties=merge_properties(
                        device.properties, configuration.broker_properties
                    ),
                    shared=entry.endpoint.shared,
                    nodes=(node,),
                ),
            )
    return tuple(wanted[name] for name in sorted(wanted))


def merge_properties(device: Mapping[str, str], configuration: Mapping[str, str]) -> dict[str, str]:
    """Device properties overlaid by the Configuration's ``brokerProperties`` (which win)."""
    return {**device, **configuration}
