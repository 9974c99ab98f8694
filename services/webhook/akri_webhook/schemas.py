"""The schemas a Configuration is checked against: the Akri CRD's, with the Kubernetes ones inside.

The CRD keeps ``brokerPodSpec``, ``brokerJobSpec`` and both service specs as open objects
(``x-kubernetes-preserve-unknown-fields``); the webhook swaps them for references to the API
server's own ``PodSpec``, ``JobSpec`` and ``ServiceSpec`` schemas, and ``metadata`` for
``ObjectMeta``. Those come from the OpenAPI v3 documents the cluster serves (``/openapi/v3/api/v1``,
``/openapi/v3/apis/batch/v1``), so they match the cluster's own version. Of the ~2 MB of JSON only
the definitions these four types reach are kept, stripped of descriptions and of the keywords the
checker does not read: a few hundred KiB stay in memory.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from akri_common.crds.schema import configuration_crd
from akri_webhook.openapi import REF_PREFIX, Schema, SchemaError

POD_SPEC = "io.k8s.api.core.v1.PodSpec"
JOB_SPEC = "io.k8s.api.batch.v1.JobSpec"
SERVICE_SPEC = "io.k8s.api.core.v1.ServiceSpec"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
ROOTS = (POD_SPEC, JOB_SPEC, SERVICE_SPEC, OBJECT_META)
# The OpenAPI v3 group-versions that define the roots (and everything they reference).
GROUP_VERSIONS = ("api/v1", "apis/batch/v1")

# Keywords the checker reads; everything else (descriptions, defaults, patch strategies) is dropped.
_KEPT = frozenset(
    {
        "type",
        "properties",
        "additionalProperties",
        "items",
        "required",
        "enum",
        "pattern",
        "format",
        "minimum",
        "$ref",
        "allOf",
        "oneOf",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
    }
)


@dataclass(frozen=True)
class SchemaSet:
    """The Kubernetes definitions the Configuration schema references, and where they came from.

    ``versions`` maps each OpenAPI group-version to the hash the API server published for it, so
    that a refresh can tell whether anything changed.
    """

    components: Mapping[str, Schema]
    versions: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"versions": dict(self.versions), "components": dict(self.components)},
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> SchemaSet:
        data = json.loads(text)
        return cls(components=data["components"], versions=data.get("versions", {}))


def extract(
    documents: Iterable[Mapping[str, Any]], *, versions: Mapping[str, str] | None = None
) -> SchemaSet:
    """The definitions reachable from ``ROOTS`` in these OpenAPI v3 documents, stripped."""
    available: dict[str, Any] = {}
    for document in documents:
        available.update(document.get("components", {}).get("schemas", {}))
    kept: dict[str, Schema] = {}
    pending = list(ROOTS)
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        if name not in available:
            raise SchemaError(f"the API server's OpenAPI documents do not define {name}")
        stripped = _strip(available[name])
        kept[name] = stripped
        pending.extend(_references(stripped))
    return SchemaSet(components=kept, versions=dict(versions or {}))


def configuration_schema() -> Schema:
    """The Configuration CRD's schema with the embedded Kubernetes specs and metadata made strict."""
    crd = configuration_crd()
    root: dict[str, Any] = copy.deepcopy(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    properties = root.setdefault("properties", {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties["metadata"] = _ref(OBJECT_META)
    spec = properties["spec"]["properties"]
    broker = spec["brokerSpec"]["properties"]
    broker["brokerPodSpec"] = _ref(POD_SPEC)
    broker["brokerJobSpec"] = _ref(JOB_SPEC)
    spec["instanceServiceSpec"] = _ref(SERVICE_SPEC)
    spec["configurationServiceSpec"] = _ref(SERVICE_SPEC)
    return root


def _ref(name: str) -> Schema:
    return {"$ref": REF_PREFIX + name}


def _strip(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strip(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _KEPT:
            continue
        if key == "properties":
            out[key] = {name: _strip(sub) for name, sub in value.items()}
        elif key == "format" and value not in ("int32", "int64"):
            continue
        else:
            out[key] = _strip(value)
    return out


def _references(schema: Any) -> list[str]:
    found: list[str] = []
    if isinstance(schema, list):
        for item in schema:
            found.extend(_references(item))
    elif isinstance(schema, Mapping):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value.removeprefix(REF_PREFIX))
            elif key == "properties":
                for sub in value.values():
                    found.extend(_references(sub))
            else:
                found.extend(_references(value))
    return found
