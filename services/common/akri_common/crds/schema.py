"""The ``akri.sh/v0`` CustomResourceDefinitions, as Python data, and the generator of their YAML.

The openAPIV3Schemas below are the single source of ``helm/akri/crds/*.yaml``; regenerate with
``python -m akri_common.crds.schema --out helm/akri/crds`` (a unit test fails when they drift).
They match upstream Akri's CRDs field for field and are *structural* (``apiextensions.k8s.io/v1``):
every node has a ``type`` unless it preserves unknown fields, and ``oneOf`` holds only ``required``
lists over properties declared beside it, the one form of junctor the API server accepts.
Checks a schema cannot express (a Configuration's embedded Kubernetes specs) belong to the webhook.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from akri_common.crds import GROUP, VERSION
from akri_common.crds.configuration import KIND as CONFIGURATION_KIND
from akri_common.crds.configuration import MAX_CAPACITY, PROPERTY_NAME
from akri_common.crds.instance import KIND as INSTANCE_KIND

Schema = dict[str, Any]

GENERATOR_COMMAND = "python -m akri_common.crds.schema --out helm/akri/crds"
CONFIGURATION_CRD_FILE = "akri-configuration-crd.yaml"
INSTANCE_CRD_FILE = "akri-instance-crd.yaml"


def _string(description: str) -> Schema:
    return {"type": "string", "description": description}


def _string_map(description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": {"type": "string"},
    }


def _kubernetes_spec(description: str) -> Schema:
    """An embedded Kubernetes spec (PodSpec, JobSpec, ServiceSpec), kept whole and unpruned."""
    return {
        "type": "object",
        "description": description,
        "nullable": True,
        "x-kubernetes-preserve-unknown-fields": True,
    }


def _one_of_present(*names: str) -> list[Schema]:
    """``oneOf`` in its structural form: exactly one of these declared properties is present."""
    return [{"required": [name]} for name in names]


def _key_ref(kind: str) -> Schema:
    return {
        "type": "object",
        "description": f"One key of a {kind}.",
        "required": ["name"],
        "properties": {
            "key": _string(f"The key in the {kind}'s data."),
            "name": _string(f"The {kind}'s name."),
            "namespace": _string(f'The {kind}\'s namespace (default "default").'),
            "optional": {
                "type": "boolean",
                "description": f"Leave the property out, not fail, when the {kind} or key is missing.",
            },
        },
    }


DISCOVERY_PROPERTY: Schema = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": PROPERTY_NAME.pattern},
        "value": {"type": "string", "nullable": True},
        "valueFrom": {
            "type": "object",
            "properties": {
                "secretKeyRef": _key_ref("Secret"),
                "configMapKeyRef": _key_ref("ConfigMap"),
            },
            "oneOf": _one_of_present("secretKeyRef", "configMapKeyRef"),
        },
    },
    "oneOf": _one_of_present("value", "valueFrom"),
}

CONFIGURATION_SPEC: Schema = {
    "type": "object",
    "properties": {
        "discoveryHandler": {
            "type": "object",
            "description": "The discovery handler that finds the devices, and what it is told.",
            "properties": {
                "name": _string("The discovery handler's name (udev, onvif, debugEcho...)."),
                "discoveryDetails": _string("Handler-specific details, passed on as they are."),
                "discoveryProperties": {
                    "type": "array",
                    "description": "Named values, literal or from a Secret or ConfigMap.",
                    "nullable": True,
                    "items": DISCOVERY_PROPERTY,
                },
            },
        },
        "capacity": {
            "type": "integer",
            "maximum": MAX_CAPACITY,
            "description": f"How many pods may use each discovered device at once (default 1, at most {MAX_CAPACITY}).",
        },
        "brokerSpec": {
            "type": "object",
            "description": "The broker deployed for each device: a Pod or a Job, not both.",
            "properties": {
                "brokerJobSpec": _kubernetes_spec("A Kubernetes JobSpec."),
                "brokerPodSpec": _kubernetes_spec("A Kubernetes PodSpec."),
            },
            "oneOf": _one_of_present("brokerJobSpec", "brokerPodSpec"),
        },
        "instanceServiceSpec": _kubernetes_spec("A ServiceSpec for a Service per device."),
        "configurationServiceSpec": _kubernetes_spec("A ServiceSpec for one Service over all."),
        "brokerProperties": _string_map("Extra environment variables for every broker."),
    },
}

INSTANCE_SPEC: Schema = {
    "type": "object",
    "required": ["capacity", "cdiName", "configurationName"],
    "properties": {
        "configurationName": _string("The Configuration that discovered this device."),
        "cdiName": _string("The device's CDI name, akri.sh/<configuration>=<hash>."),
        "capacity": {
            "type": "integer",
            "format": "uint",
            "minimum": 0,
            "maximum": MAX_CAPACITY,
            "description": "How many pods may use this device at once.",
        },
        "brokerProperties": {
            **_string_map("The device's properties and the Configuration's brokerProperties."),
            "default": {},
        },
        "shared": {
            "type": "boolean",
            "description": "Whether several nodes can see this device.",
            "default": False,
        },
        "nodes": {
            "type": "array",
            "description": "The nodes that currently see this device.",
            "items": {"type": "string"},
            "default": [],
            "x-kubernetes-list-type": "set",
        },
        "deviceUsage": {
            **_string_map("Which node (and pod) holds each slot of the device."),
            "default": {},
            "x-kubernetes-map-type": "granular",
        },
    },
}


_AGE_COLUMN: Schema = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def _crd(
    *,
    kind: str,
    short_name: str,
    root: Schema,
    columns: Sequence[Schema],
) -> Schema:
    plural = f"{kind.lower()}s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "plural": plural,
                "singular": kind.lower(),
                "kind": kind,
                "shortNames": [short_name],
                "categories": ["all"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": copy.deepcopy(root)},
                    "additionalPrinterColumns": [*copy.deepcopy(columns), dict(_AGE_COLUMN)],
                }
            ],
        },
    }


def configuration_crd() -> Schema:
    """``configurations.akri.sh``: nothing required at schema level, as upstream's Helm chart ships."""
    return _crd(
        kind=CONFIGURATION_KIND,
        short_name="akric",
        root={"type": "object", "properties": {"spec": CONFIGURATION_SPEC}},
        columns=[
            {
                "name": "Capacity",
                "type": "string",
                "description": "The capacity for each Instance discovered",
                "jsonPath": ".spec.capacity",
            },
        ],
    )


def instance_crd() -> Schema:
    """``instances.akri.sh``: ``spec`` required, ``nodes`` a list-set, ``deviceUsage`` granular."""
    return _crd(
        kind=INSTANCE_KIND,
        short_name="akrii",
        root={"type": "object", "required": ["spec"], "properties": {"spec": INSTANCE_SPEC}},
        columns=[
            {
                "name": "Config",
                "type": "string",
                "description": "The Configuration this Instance belongs to",
                "jsonPath": ".spec.configurationName",
            },
            {
                "name": "Shared",
                "type": "boolean",
                "description": "Describes whether this Instance is shared",
                "jsonPath": ".spec.shared",
            },
            {
                "name": "Nodes",
                "type": "string",
                "description": "Nodes that expose this Instance",
                "jsonPath": ".spec.nodes",
            },
        ],
    )


class _Dumper(yaml.SafeDumper):
    """Writes a shared sub-schema out in full each time, never as a YAML anchor and alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(crd: Schema) -> str:
    """The CRD as YAML, byte for byte the same on every run (keys in declaration order)."""
    body = yaml.dump(crd, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
    return (
        f"# Generated from akri_common.crds.schema: do not edit; run `{GENERATOR_COMMAND}`.\n{body}"
    )


def rendered_files() -> dict[str, str]:
    """The chart's CRD files by name, as the generator writes them."""
    return {
        CONFIGURATION_CRD_FILE: render(configuration_crd()),
        INSTANCE_CRD_FILE: render(instance_crd()),
    }


def write(out: Path) -> list[Path]:
    """Writes both CRD files into ``out`` (created if missing) and returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered_files().items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m akri_common.crds.schema", description="Writes the akri.sh CRD YAML."
    )
    parser.add_argument("--out", type=Path, default=Path("helm/akri/crds"), help="target folder")
    args = parser.parse_args(argv)
    for path in write(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
