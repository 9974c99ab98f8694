"""The schema checker on small hand-made schemas, and the extraction of the Kubernetes schemas
from OpenAPI v3 documents (closure of references, stripped keywords)."""

from __future__ import annotations

from typing import Any

import pytest

from akri_webhook.openapi import SchemaError, check
from akri_webhook.problems import join
from akri_webhook.schemas import OBJECT_META, POD_SPEC, ROOTS, configuration_schema, extract

COMPONENTS: dict[str, Any] = {
    "Port": {
        "type": "object",
        "required": ["port"],
        "properties": {
            "port": {"type": "integer", "format": "int32"},
            "target": {"x-kubernetes-int-or-string": True},
        },
    },
    "Open": {"type": "object"},
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ports": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Port"}]}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "raw": {"$ref": "#/components/schemas/Open"},
        "kept": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "ratio": {"type": "number"},
        "mode": {"type": "string", "enum": ["A", "B"]},
    },
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"ports": [{"port": 1, "target": "http"}], "ratio": 0.5, "mode": ""}, []),
        ({"raw": {"anything": [1]}, "kept": {"x": 1}, "labels": None}, []),
        ({"ports": [{}]}, [("ports[0].port", "is required")]),
        ({"ports": [{"port": 1.5}]}, [("ports[0].port", "expected an integer, got a number")]),
        (
            {"ports": [{"port": 1, "target": True}]},
            [("ports[0].target", "expected an integer or a string, got a boolean")],
        ),
        ({"labels": {"a.b/c": 1}}, [('labels["a.b/c"]', "expected a string, got an integer")]),
        ({"ratio": False}, [("ratio", "expected a number, got a boolean")]),
        ({"mode": "C"}, [("mode", "must be one of A, B (got 'C')")]),
        ({"port": 1}, [("port", 'unknown field (did you mean "ports"?)')]),
        ("text", [("(document)", "expected an object, got a string")]),
    ],
)
def test_check(value: Any, expected: list[tuple[str, str]]) -> None:
    assert [(p.path, p.reason) for p in check(value, SCHEMA, components=COMPONENTS)] == expected


def test_an_unknown_reference_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="Missing"):
        check({}, {"$ref": "#/components/schemas/Missing"}, components={})


def test_join_quotes_odd_keys() -> None:
    assert join("", "spec") == "spec"
    assert join("spec", "capacity") == "spec.capacity"
    assert join("a", "{{PLACEHOLDER}}") == 'a["{{PLACEHOLDER}}"]'


def _document(schemas: dict[str, Any]) -> dict[str, Any]:
    return {"components": {"schemas": schemas}}


def test_extract_keeps_the_closure_of_the_roots_and_strips_descriptions() -> None:
    leaf = {"type": "string", "description": "long text", "x-kubernetes-list-type": "atomic"}
    schemas: dict[str, Any] = {
        name: {"type": "object", "properties": {"x": {"$ref": "#/components/schemas/Leaf"}}}
        for name in ROOTS
    }
    schemas["Leaf"] = leaf
    schemas["Unrelated"] = {"type": "string"}
    extracted = extract([_document(schemas)], versions={"api/v1": "abc"})
    assert set(extracted.components) == {*ROOTS, "Leaf"}
    assert extracted.components["Leaf"] == {"type": "string"}
    assert extracted.versions == {"api/v1": "abc"}


def test_extract_fails_when_a_root_is_missing() -> None:
    with pytest.raises(SchemaError, match="do not define"):
        extract([_document({})])


def test_configuration_schema_embeds_the_kubernetes_specs() -> None:
    schema = configuration_schema()
    assert schema["properties"]["metadata"] == {"$ref": f"#/components/schemas/{OBJECT_META}"}
    broker = schema["properties"]["spec"]["properties"]["brokerSpec"]["properties"]
    assert broker["brokerPodSpec"] == {"$ref": f"#/components/schemas/{POD_SPEC}"}
