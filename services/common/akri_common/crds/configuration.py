"""The ``Configuration`` custom resource: a frozen model and its parser.

A Configuration names a discovery handler, the details it is given, how many slots each Instance
offers (``capacity``), the broker workloads and services to deploy, and extra environment for them
(``brokerProperties``). Parsing checks types field by field and reports the first problem with
the field's path and value (``InvalidResourceError``); the embedded Kubernetes specs are kept as
plain mappings here and checked elsewhere against the Kubernetes schemas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from akri_common.crds import API_VERSION
from akri_common.crds.errors import InvalidResourceError
from akri_common.ids import ConfigurationName, HandlerName

KIND = "Configuration"
PROPERTY_NAME = re.compile(r"^[_A-Za-z][_A-Za-z0-9]*$")
#: The most slots one Instance may offer: each is a kubelet device the agent lists and tracks, so
#: an unbounded ``capacity`` would exhaust the agent's memory and kubelet's patience.
MAX_CAPACITY = 1024
#: A Configuration's name must be a DNS-1123 subdomain (the API server's own rule) short enough
#: that ``akri.sh/<name>-<hash6>``, the instance plugin's resource name, stays a qualified name
#: (at most 63 characters after the prefix).
MAX_NAME_LENGTH = 56
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

JsonObject = Mapping[str, Any]


@dataclass(frozen=True)
class KeyRef:
    """A ``secretKeyRef`` or ``configMapKeyRef``: one key of a Secret or ConfigMap."""

    kind: str  # "secret" or "configMap"
    name: str
    key: str
    namespace: str = "default"
    optional: bool = False


@dataclass(frozen=True)
class DiscoveryProperty:
    """One ``discoveryProperties`` entry: a literal ``value``, a ``valueFrom`` reference, or neither."""

    name: str
    value: str | None = None
    value_from: KeyRef | None = None


@dataclass(frozen=True)
class DiscoveryHandlerInfo:
    name: HandlerName
    discovery_details: str = ""
    discovery_properties: tuple[DiscoveryProperty, ...] = ()


@dataclass(frozen=True)
class Configuration:
    """A parsed ``akri.sh/v0`` Configuration (only the fields Akri acts on)."""

    name: ConfigurationName
    namespace: str
    discovery_handler: DiscoveryHandlerInfo
    uid: str = ""
    generation: int = 0
    capacity: int = 1
    broker_properties: Mapping[str, str] = field(default_factory=dict)
    broker_pod_spec: JsonObject | None = None
    broker_job_spec: JsonObject | None = None
    instance_service_spec: JsonObject | None = None
    configuration_service_spec: JsonObject | None = None


def parse_configuration(obj: Any) -> Configuration:
    """Parses a Configuration object (as the API server or a YAML file gives it)."""
    root = _mapping(obj, "")
    api_version = root.get("apiVersion", API_VERSION)
    if api_version != API_VERSION:
        raise InvalidResourceError("apiVersion", api_version, f"expected {API_VERSION}")
    if root.get("kind", KIND) != KIND:
        raise InvalidResourceError("kind", root.get("kind"), f"expected {KIND}")
    metadata = _mapping(root.get("metadata"), "metadata")
    name = _string(metadata.get("name"), "metadata.name")
    if not name:
        raise InvalidResourceError("metadata.name", name, "must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidResourceError(
            "metadata.name",
            name,
            f"must be at most {MAX_NAME_LENGTH} characters (akri.sh/<name>-<hash6> must fit 63)",
        )
    if not NAME.fullmatch(name):
        raise InvalidResourceError(
            "metadata.name",
            name,
            "must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
        )
    spec = _mapping(root.get("spec"), "spec")
    broker_spec = _optional_mapping(spec.get("brokerSpec"), "spec.brokerSpec") or {}
    pod_spec = _optional_mapping(broker_spec.get("brokerPodSpec"), "spec.brokerSpec.brokerPodSpec")
    job_spec = _optional_mapping(broker_spec.get("brokerJobSpec"), "spec.brokerSpec.brokerJobSpec")
    if pod_spec is not None and job_spec is not None:
        raise InvalidResourceError(
            "spec.brokerSpec", sorted(broker_spec), "set brokerPodSpec or brokerJobSpec, not both"
        )
    return Configuration(
        name=ConfigurationName(name),
        namespace=_string(metadata.get("namespace", "default"), "metadata.namespace"),
        uid=_string(metadata.get("uid", ""), "metadata.uid"),
        generation=_integer(metadata.get("generation", 0), "metadata.generation"),
        discovery_handler=_discovery_handler(spec.get("discoveryHandler")),
        capacity=_capacity(spec.get("capacity", 1)),
        broker_properties=_string_map(spec.get("brokerProperties"), "spec.brokerProperties"),
        broker_pod_spec=pod_spec,
        broker_job_spec=job_spec,
        instance_service_spec=_optional_mapping(
            spec.get("instanceServiceSpec"), "spec.instanceServiceSpec"
        ),
        configuration_service_spec=_optional_mapping(
            spec.get("configurationServiceSpec"), "spec.configurationServiceSpec"
        ),
    )


def _discovery_handler(obj: Any) -> DiscoveryHandlerInfo:
    path = "spec.discoveryHandler"
    if obj is None:
        raise InvalidResourceError(path, obj, "is required")
    handler = _mapping(obj, path)
    name = _string(handler.get("name"), f"{path}.name")
    if not name:
        raise InvalidResourceError(f"{path}.name", name, "must name a discovery handler")
    details = handler.get("discoveryDetails")
    raw_properties = handler.get("discoveryProperties")
    if raw_properties is None:
        raw_properties = []
    if not isinstance(raw_properties, list):
        raise InvalidResourceError(f"{path}.discoveryProperties", raw_properties, "expected a list")
    properties = tuple(
        _discovery_property(item, f"{path}.discoveryProperties[{i}]")
        for i, item in enumerate(raw_properties)
    )
    seen: set[str] = set()
    for i, prop in enumerate(properties):
        if prop.name in seen:
            raise InvalidResourceError(
                f"{path}.discoveryProperties[{i}].name", prop.name, "is a duplicate"
            )
        seen.add(prop.name)
    return DiscoveryHandlerInfo(
        name=HandlerName(name),
        discovery_details="" if details is None else _string(details, f"{path}.discoveryDetails"),
        discovery_properties=properties,
    )


def _discovery_property(obj: Any, path: str) -> DiscoveryProperty:
    item = _mapping(obj, path)
    name = _string(item.get("name"), f"{path}.name")
    if not PROPERTY_NAME.fullmatch(name):
        raise InvalidResourceError(
            f"{path}.name", name, "must match ^[_A-Za-z][_A-Za-z0-9]*$ (a letter or _ first)"
        )
    value = item.get("value")
    value_from = item.get("valueFrom")
    if value is not None and value_from is not None:
        raise InvalidResourceError(path, sorted(item), "set value or valueFrom, not both")
    if value_from is None:
        return DiscoveryProperty(
            name=name, value=None if value is None else _string(value, f"{path}.value")
        )
    return DiscoveryProperty(name=name, value_from=_key_ref(value_from, f"{path}.valueFrom"))


def _key_ref(obj: Any, path: str) -> KeyRef:
    source = _mapping(obj, path)
    kinds = {"secretKeyRef": "secret", "configMapKeyRef": "configMap"}
    present = [k for k in source if source[k] is not None]
    if len(present) != 1 or present[0] not in kinds:
        raise InvalidResourceError(
            path, sorted(source), "needs exactly one of secretKeyRef or configMapKeyRef"
        )
    key = present[0]
    ref = _mapping(source[key], f"{path}.{key}")
    optional = ref.get("optional", False)
    if not isinstance(optional, bool):
        raise InvalidResourceError(f"{path}.{key}.optional", optional, "expected true or false")
    namespace = ref.get("namespace")
    return KeyRef(
        kind=kinds[key],
        name=_string(ref.get("name"), f"{path}.{key}.name"),
        key=_string(ref.get("key"), f"{path}.{key}.key"),
        namespace="default" if namespace is None else _string(namespace, f"{path}.{key}.namespace"),
        optional=optional,
    )


def _mapping(obj: Any, path: str) -> JsonObject:
    if not isinstance(obj, Mapping):
        raise InvalidResourceError(path or "(document)", obj, "expected an object")
    return obj


def _optional_mapping(obj: Any, path: str) -> JsonObject | None:
    return None if obj is None else _mapping(obj, path)


def _string(obj: Any, path: str) -> str:
    if not isinstance(obj, str):
        raise InvalidResourceError(path, obj, "expected a string")
    return obj


def _integer(obj: Any, path: str) -> int:
    if isinstance(obj, bool) or not isinstance(obj, int):
        raise InvalidResourceError(path, obj, "expected an integer")
    if obj < 0:
        raise InvalidResourceError(path, obj, "must not be negative")
    return obj


def _capacity(obj: Any) -> int:
    capacity = _integer(obj, "spec.capacity")
    if capacity > MAX_CAPACITY:
        raise InvalidResourceError(
            "spec.capacity", capacity, f"must be at most {MAX_CAPACITY} (slots per Instance)"
        )
    return capacity


def _string_map(obj: Any, path: str) -> dict[str, str]:
    if obj is None:
        return {}
    mapping = _mapping(obj, path)
    return {_string(k, path): _string(v, f"{path}.{k}") for k, v in mapping.items()}
