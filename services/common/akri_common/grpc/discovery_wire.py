"""Conversions between discovered-device values and the v0 discovery protobuf messages.

Handlers (through the SDK's servicer) and the agent (through its discovery client) both convert
here, so the two sides of the protocol cannot drift apart; everything past this edge sees
``Device`` values and plain mappings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from akri_common.devices import Device, DeviceSpec, Mount
from akri_proto.discovery.v0 import discovery_pb2 as pb


def device_to_proto(device: Device) -> pb.Device:
    return pb.Device(
        id=device.id,
        properties=dict(device.properties),
        mounts=[
            pb.Mount(container_path=m.container_path, host_path=m.host_path, read_only=m.read_only)
            for m in device.mounts
        ],
        device_specs=[
            pb.DeviceSpec(
                container_path=s.container_path, host_path=s.host_path, permissions=s.permissions
            )
            for s in device.device_specs
        ],
    )


def device_from_proto(message: pb.Device) -> Device:
    return Device(
        id=message.id,
        properties=dict(message.properties),
        mounts=tuple(
            Mount(container_path=m.container_path, host_path=m.host_path, read_only=m.read_only)
            for m in message.mounts
        ),
        device_specs=tuple(
            DeviceSpec(
                container_path=s.container_path, host_path=s.host_path, permissions=s.permissions
            )
            for s in message.device_specs
        ),
    )


def response_from_devices(devices: Sequence[Device]) -> pb.DiscoverResponse:
    return pb.DiscoverResponse(devices=[device_to_proto(device) for device in devices])


def devices_from_response(response: pb.DiscoverResponse) -> tuple[Device, ...]:
    return tuple(device_from_proto(message) for message in response.devices)


def properties_from_proto(properties: Mapping[str, pb.ByteData]) -> dict[str, bytes | None]:
    """Resolved ``discoveryProperties``: bytes, or None for a property with no value at all."""
    return {name: (data.vec if data.HasField("vec") else None) for name, data in properties.items()}


def properties_to_proto(properties: Mapping[str, bytes | None]) -> dict[str, pb.ByteData]:
    return {
        name: (pb.ByteData() if value is None else pb.ByteData(vec=value))
        for name, value in properties.items()
    }


def discover_request(
    details: str, properties: Mapping[str, bytes | None] | None = None
) -> pb.DiscoverRequest:
    return pb.DiscoverRequest(
        discovery_details=details, discovery_properties=properties_to_proto(properties or {})
    )
