"""The generated descriptors carry upstream's exact wire names and field numbers."""

from __future__ import annotations

import filecmp
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from akri_proto import generate
from akri_proto.deviceplugin.v1beta1 import api_pb2 as deviceplugin
from akri_proto.discovery.v0 import discovery_pb2 as discovery
from akri_proto.opcua_node import opcua_node_pb2 as opcua_node
from akri_proto.podresources.v1 import api_pb2 as podresources


def _method_paths(module: ModuleType) -> set[str]:
    file = module.DESCRIPTOR
    return {
        f"/{service.full_name}/{method.name}"
        for service in file.services_by_name.values()
        for method in service.methods
    }


@pytest.mark.parametrize(
    ("module", "path"),
    [
        (discovery, "/v0.Registration/RegisterDiscoveryHandler"),
        (discovery, "/v0.DiscoveryHandler/Discover"),
        (deviceplugin, "/v1beta1.Registration/Register"),
        (deviceplugin, "/v1beta1.DevicePlugin/GetDevicePluginOptions"),
        (deviceplugin, "/v1beta1.DevicePlugin/ListAndWatch"),
        (deviceplugin, "/v1beta1.DevicePlugin/GetPreferredAllocation"),
        (deviceplugin, "/v1beta1.DevicePlugin/Allocate"),
        (deviceplugin, "/v1beta1.DevicePlugin/PreStartContainer"),
        (podresources, "/v1.PodResourcesLister/List"),
        (podresources, "/v1.PodResourcesLister/GetAllocatableResources"),
        (podresources, "/v1.PodResourcesLister/Get"),
        (opcua_node, "/OpcuaNode.OpcuaNode/GetValue"),
    ],
)
def test_wire_paths(module: ModuleType, path: str) -> None:
    assert path in _method_paths(module)


def test_discover_streams_responses() -> None:
    method = discovery.DESCRIPTOR.services_by_name["DiscoveryHandler"].methods_by_name["Discover"]
    assert method.server_streaming
    assert not method.client_streaming
    method = deviceplugin.DESCRIPTOR.services_by_name["DevicePlugin"].methods_by_name[
        "ListAndWatch"
    ]
    assert method.server_streaming


def _fields(message: Descriptor) -> dict[str, tuple[int, str, bool]]:
    kinds = {
        FieldDescriptor.TYPE_STRING: "string",
        FieldDescriptor.TYPE_BOOL: "bool",
        FieldDescriptor.TYPE_BYTES: "bytes",
        FieldDescriptor.TYPE_ENUM: "enum",
        FieldDescriptor.TYPE_MESSAGE: "message",
        FieldDescriptor.TYPE_INT64: "int64",
        FieldDescriptor.TYPE_INT32: "int32",
        FieldDescriptor.TYPE_UINT64: "uint64",
    }
    return {f.name: (f.number, kinds[f.type], f.is_repeated) for f in message.fields}


DISCOVERY_FIELDS = {
    "RegisterDiscoveryHandlerRequest": {
        "name": (1, "string", False),
        "endpoint": (2, "string", False),
        "endpoint_type": (3, "enum", False),
        "shared": (4, "bool", False),
    },
    "Empty": {},
    "DiscoverRequest": {
        "discovery_details": (1, "string", False),
        "discovery_properties": (2, "message", True),
    },
    "ByteData": {"vec": (1, "bytes", False)},
    "DiscoverResponse": {"devices": (1, "message", True)},
    "Device": {
        "id": (1, "string", False),
        "properties": (2, "message", True),
        "mounts": (3, "message", True),
        "device_specs": (4, "message", True),
    },
    "Mount": {
        "container_path": (1, "string", False),
        "host_path": (2, "string", False),
        "read_only": (3, "bool", False),
    },
    "DeviceSpec": {
        "container_path": (1, "string", False),
        "host_path": (2, "string", False),
        "permissions": (3, "string", False),
    },
}


@pytest.mark.parametrize("message", sorted(DISCOVERY_FIELDS))
def test_discovery_fields(message: str) -> None:
    assert _fields(discovery.DESCRIPTOR.message_types_by_name[message]) == DISCOVERY_FIELDS[message]


def test_discovery_enum_and_optional_bytes() -> None:
    enum = discovery.RegisterDiscoveryHandlerRequest.DESCRIPTOR.enum_types_by_name["EndpointType"]
    assert {v.name: v.number for v in enum.values} == {"UDS": 0, "NETWORK": 1}
    vec = discovery.ByteData.DESCRIPTOR.fields_by_name["vec"]
    assert vec.has_presence  # proto3 optional: absent differs from empty
    assert not discovery.ByteData().HasField("vec")
    assert discovery.ByteData(vec=b"").HasField("vec")
    properties = discovery.DiscoverRequest.DESCRIPTOR.fields_by_name["discovery_properties"]
    assert properties.message_type is not None
    assert properties.message_type.GetOptions().map_entry


KUBELET_FIELDS: dict[tuple[ModuleType, str], dict[str, tuple[int, str, bool]]] = {
    (deviceplugin, "RegisterRequest"): {
        "version": (1, "string", False),
        "endpoint": (2, "string", False),
        "resource_name": (3, "string", False),
        "options": (4, "message", False),
    },
    (deviceplugin, "DevicePluginOptions"): {
        "pre_start_required": (1, "bool", False),
        "get_preferred_allocation_available": (2, "bool", False),
    },
    (deviceplugin, "Device"): {
        "ID": (1, "string", False),
        "health": (2, "string", False),
        "topology": (3, "message", False),
    },
    (deviceplugin, "ContainerAllocateRequest"): {"devices_ids": (1, "string", True)},
    (deviceplugin, "ContainerAllocateResponse"): {
        "envs": (1, "message", True),
        "mounts": (2, "message", True),
        "devices": (3, "message", True),
        "annotations": (4, "message", True),
        "cdi_devices": (5, "message", True),
    },
    (deviceplugin, "CDIDevice"): {"name": (1, "string", False)},
    (opcua_node, "ValueRequest"): {},
    (opcua_node, "ValueResponse"): {
        "value": (1, "int32", False),
        "opcua_server": (2, "string", False),
    },
    (podresources, "ListPodResourcesResponse"): {"pod_resources": (1, "message", True)},
    (podresources, "ContainerDevices"): {
        "resource_name": (1, "string", False),
        "device_ids": (2, "string", True),
        "topology": (3, "message", False),
    },
}


@pytest.mark.parametrize(("module", "message"), list(KUBELET_FIELDS))
def test_kubelet_fields(module: ModuleType, message: str) -> None:
    descriptor = module.DESCRIPTOR.message_types_by_name[message]
    assert _fields(descriptor) == KUBELET_FIELDS[(module, message)]


def test_generated_code_matches_make_proto(tmp_path: Path) -> None:
    generate.generate(tmp_path)
    committed = generate.generated_files(generate.PROTO_ROOT)
    fresh = generate.generated_files(tmp_path)
    assert committed == fresh, "run `make proto`: the set of generated files differs"
    differing = [
        str(rel)
        for rel in committed
        if not filecmp.cmp(generate.PROTO_ROOT / rel, tmp_path / rel, shallow=False)
    ]
    assert not differing, f"run `make proto`: generated code drifted in {differing}"
