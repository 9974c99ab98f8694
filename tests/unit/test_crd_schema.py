"""The committed CRD YAML under helm/akri/crds: generated from akri_common.crds.schema, structural."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from akri_common.crds import schema

CRDS = Path(__file__).resolve().parents[2] / "helm" / "akri" / "crds"
JUNCTORS = ("allOf", "anyOf", "oneOf", "not")


def _committed(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((CRDS / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _version(crd: dict[str, Any]) -> dict[str, Any]:
    versions = crd["spec"]["versions"]
    assert len(versions) == 1
    version = versions[0]
    assert isinstance(version, dict)
    return version


def _spec_schema(crd: dict[str, Any]) -> dict[str, Any]:
    spec = _version(crd)["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert isinstance(spec, dict)
    return spec


@pytest.fixture(scope="module")
def configuration() -> dict[str, Any]:
    return _committed(schema.CONFIGURATION_CRD_FILE)


@pytest.fixture(scope="module")
def instance() -> dict[str, Any]:
    return _committed(schema.INSTANCE_CRD_FILE)


def test_committed_yaml_matches_the_generator(tmp_path: Path) -> None:
    schema.write(tmp_path)
    for name in (schema.CONFIGURATION_CRD_FILE, schema.INSTANCE_CRD_FILE):
        committed = CRDS / name
        assert committed.exists(), f"{committed} is missing: run `{schema.GENERATOR_COMMAND}`"
        assert (tmp_path / name).read_text(encoding="utf-8") == committed.read_text(
            encoding="utf-8"
        ), f"{committed} differs from the schema in Python: run `{schema.GENERATOR_COMMAND}`"


def test_generation_is_deterministic() -> None:
    assert schema.rendered_files() == schema.rendered_files()


def test_writes_exactly_the_two_chart_files(tmp_path: Path) -> None:
    written = schema.write(tmp_path / "crds")
    assert sorted(p.name for p in written) == [
        "akri-configuration-crd.yaml",
        "akri-instance-crd.yaml",
    ]


@pytest.mark.parametrize(
    ("fixture", "name", "kind", "plural", "singular", "short_name"),
    [
        (
            "configuration",
            "configurations.akri.sh",
            "Configuration",
            "configurations",
            "configuration",
            "akric",
        ),
        ("instance", "instances.akri.sh", "Instance", "instances", "instance", "akrii"),
    ],
)
def test_names_scope_and_version(
    request: pytest.FixtureRequest,
    *,
    fixture: str,
    name: str,
    kind: str,
    plural: str,
    singular: str,
    short_name: str,
) -> None:
    crd = request.getfixturevalue(fixture)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == name
    spec = crd["spec"]
    assert spec["group"] == "akri.sh"
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "plural": plural,
        "singular": singular,
        "kind": kind,
        "shortNames": [short_name],
        "categories": ["all"],
    }
    version = _version(crd)
    assert (version["name"], version["served"], version["storage"]) == ("v0", True, True)
    assert "subresources" not in version, "upstream has no status subresource"
    assert "conversion" not in spec
    assert "status" not in version["schema"]["openAPIV3Schema"]["properties"]


@pytest.mark.parametrize(
    ("fixture", "columns"),
    [
        (
            "configuration",
            [
                ("Capacity", "string", ".spec.capacity"),
                ("Age", "date", ".metadata.creationTimestamp"),
            ],
        ),
        (
            "instance",
            [
                ("Config", "string", ".spec.configurationName"),
                ("Shared", "boolean", ".spec.shared"),
                ("Nodes", "string", ".spec.nodes"),
                ("Age", "date", ".metadata.creationTimestamp"),
            ],
        ),
    ],
)
def test_printer_columns(
    request: pytest.FixtureRequest, fixture: str, columns: list[tuple[str, str, str]]
) -> None:
    crd = request.getfixturevalue(fixture)
    found = [
        (c["name"], c["type"], c["jsonPath"]) for c in _version(crd)["additionalPrinterColumns"]
    ]
    assert found == columns


def test_instance_spec_schema(instance: dict[str, Any]) -> None:
    root = _version(instance)["schema"]["openAPIV3Schema"]
    assert root["required"] == ["spec"]
    spec = _spec_schema(instance)
    assert spec["required"] == ["capacity", "cdiName", "configurationName"]
    fields = spec["properties"]
    assert set(fields) == {
        "configurationName",
        "cdiName",
        "capacity",
        "brokerProperties",
        "shared",
        "nodes",
        "deviceUsage",
    }
    assert fields["nodes"]["type"] == "array"
    assert fields["nodes"]["items"] == {"type": "string"}
    assert fields["nodes"]["x-kubernetes-list-type"] == "set"
    assert fields["deviceUsage"]["type"] == "object"
    assert fields["deviceUsage"]["additionalProperties"] == {"type": "string"}
    assert fields["deviceUsage"]["x-kubernetes-map-type"] == "granular"
    assert fields["capacity"]["type"] == "integer"
    assert fields["capacity"]["minimum"] == 0
    assert fields["brokerProperties"]["additionalProperties"] == {"type": "string"}
    assert fields["shared"]["type"] == "boolean"


def test_configuration_spec_schema(configuration: dict[str, Any]) -> None:
    spec = _spec_schema(configuration)
    assert "required" not in spec, "upstream requires nothing at schema level"
    fields = spec["properties"]
    assert set(fields) == {
        "discoveryHandler",
        "capacity",
        "brokerSpec",
        "instanceServiceSpec",
        "configurationServiceSpec",
        "brokerProperties",
    }
    assert fields["capacity"]["type"] == "integer"
    assert fields["brokerProperties"]["additionalProperties"] == {"type": "string"}
    handler = fields["discoveryHandler"]["properties"]
    assert handler["name"]["type"] == "string"
    assert handler["discoveryDetails"]["type"] == "string"
    properties = handler["discoveryProperties"]
    assert properties["nullable"] is True
    item = properties["items"]
    assert item["required"] == ["name"]
    assert item["properties"]["name"]["pattern"] == "^[_A-Za-z][_A-Za-z0-9]*$"
    assert item["properties"]["value"] == {"type": "string", "nullable": True}
    assert item["oneOf"] == [{"required": ["value"]}, {"required": ["valueFrom"]}]
    value_from = item["properties"]["valueFrom"]
    assert set(value_from["properties"]) == {"secretKeyRef", "configMapKeyRef"}
    for ref in value_from["properties"].values():
        assert ref["required"] == ["name"]
        assert set(ref["properties"]) == {"key", "name", "namespace", "optional"}
        assert ref["properties"]["optional"]["type"] == "boolean"
    broker = fields["brokerSpec"]
    assert broker["oneOf"] == [{"required": ["brokerJobSpec"]}, {"required": ["brokerPodSpec"]}]
    for embedded in (
        broker["properties"]["brokerPodSpec"],
        broker["properties"]["brokerJobSpec"],
        fields["instanceServiceSpec"],
        fields["configurationServiceSpec"],
    ):
        assert embedded["type"] == "object"
        assert embedded["nullable"] is True
        assert embedded["x-kubernetes-preserve-unknown-fields"] is True


def _nodes(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _nodes(child, f"{path}.properties[{name}]")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _nodes(node[key], f"{path}.{key}")


@pytest.mark.parametrize("fixture", ["configuration", "instance"])
def test_schema_is_structural(request: pytest.FixtureRequest, fixture: str) -> None:
    """The rules kube-apiserver enforces for apiextensions.k8s.io/v1 schemas, checked offline."""
    root = _version(request.getfixturevalue(fixture))["schema"]["openAPIV3Schema"]
    for path, node in _nodes(root, "openAPIV3Schema"):
        if not node.get("x-kubernetes-preserve-unknown-fields"):
            assert node.get("type"), f"{path}: every node needs a type"
        declared = set(node.get("properties", {}))
        for junctor in JUNCTORS:
            for i, branch in enumerate(node.get(junctor, [])):
                where = f"{path}.{junctor}[{i}]"
                assert set(branch) == {"required"}, f"{where}: only required lists are structural"
                assert set(branch["required"]) <= declared, f"{where}: names undeclared properties"
        if node.get("x-kubernetes-list-type") == "set":
            assert node["items"]["type"] in {"string", "integer", "number", "boolean"}
