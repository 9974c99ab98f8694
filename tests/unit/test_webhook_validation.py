"""The webhook's decisions on Configurations: each refusal names the exact path and reason, all of
them at once; upstream-style samples (debugEcho, udev, ONVIF with pod, job and service specs) pass.

The Kubernetes schemas are a snapshot of what the testbed's API server (v1.37) serves, written by
``python -m akri_webhook.source --out tests/data/webhook/kubernetes-1.37-schemas.json``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from akri_webhook.problems import Problem
from akri_webhook.schemas import SchemaSet
from akri_webhook.validation import validate_configuration

DATA = Path(__file__).resolve().parents[1] / "data" / "webhook"
SCHEMAS = SchemaSet.from_json((DATA / "kubernetes-1.37-schemas.json").read_text())
POD = "spec.brokerSpec.brokerPodSpec"
HANDLER = "spec.discoveryHandler"
PROPS = f"{HANDLER}.discoveryProperties"


def sample(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DATA / f"{name}.yaml").read_text())
    return document


def problems(obj: Any) -> list[tuple[str, str]]:
    return [(p.path, p.reason) for p in validate_configuration(obj, SCHEMAS)]


@pytest.mark.parametrize("name", ["debug-echo", "udev", "onvif"])
def test_upstream_samples_are_admitted(name: str) -> None:
    assert problems(sample(name)) == []


def test_what_the_api_server_adds_is_admitted() -> None:
    obj = sample("debug-echo")
    obj["metadata"].update(
        uid="0b8c4d52-8d2d-4b8e-9c5a-6a3f1e0f0a11",
        resourceVersion="123",
        generation=1,
        creationTimestamp="2026-01-01T00:00:00Z",
        managedFields=[
            {
                "manager": "kubectl",
                "operation": "Apply",
                "apiVersion": "akri.sh/v0",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:capacity": {}}},
                "time": "2026-01-01T00:00:00Z",
            }
        ],
        finalizers=["node-a"],
    )
    obj["spec"]["brokerSpec"]["brokerPodSpec"]["containers"][0]["resources"]["limits"]["cpu"] = 1
    obj["spec"]["discoveryHandler"]["discoveryProperties"] = None
    assert problems(obj) == []


def _both(
    first: Callable[[dict[str, Any]], None], second: Callable[[dict[str, Any]], None]
) -> Callable[[dict[str, Any]], None]:
    def edit(obj: dict[str, Any]) -> None:
        first(obj)
        second(obj)

    return edit


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that sets the dotted ``path`` (``[i]`` for list items) to ``value``."""

    def edit(obj: dict[str, Any]) -> None:
        *parents, last = path.replace("[", ".[").split(".")
        target: Any = obj
        for part in parents:
            target = (
                target[int(part[1:-1])] if part.startswith("[") else target.setdefault(part, {})
            )
        if last.startswith("["):
            target[int(last[1:-1])] = value
        else:
            target[last] = value

    return edit


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = obj
        for part in parents:
            target = target[part]
        del target[last]

    return edit


UDEV_DETAILS = f"{HANDLER}.discoveryDetails"
BILLION_LAUGHS = "a0: &a0 [lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)

REJECTED: list[tuple[str, str, Callable[[dict[str, Any]], None], list[tuple[str, str]]]] = [
    (
        "debug-echo",
        "typo in a container field",
        _set(f"{POD}.containers[0].imagePullPolicyy", "Always"),
        [
            (
                f"{POD}.containers[0].imagePullPolicyy",
                'unknown field (did you mean "imagePullPolicy"?)',
            )
        ],
    ),
    (
        "debug-echo",
        "unknown PodSpec field",
        _set(f"{POD}.xUnknownSyntheticField", 1),
        [(f"{POD}.xUnknownSyntheticField", "unknown field")],
    ),
    (
        "debug-echo",
        "wrong type in a container port",
        _set(f"{POD}.containers[0].ports", [{"containerPort": "80"}]),
        [(f"{POD}.containers[0].ports[0].containerPort", "expected an integer, got a string")],
    ),
    (
        "debug-echo",
        "int32 out of range",
        _set(f"{POD}.containers[0].ports", [{"containerPort": 2**40}]),
        [(f"{POD}.containers[0].ports[0].containerPort", "out of range for int32")],
    ),
    (
        "debug-echo",
        "container without a name",
        _set(f"{POD}.containers[0].name", None),
        [(f"{POD}.containers[0].name", "is required")],
    ),
    (
        "debug-echo",
        "enum value",
        _set(f"{POD}.restartPolicy", "Sometimes"),
        [(f"{POD}.restartPolicy", "must be one of Always, Never, OnFailure (got 'Sometimes')")],
    ),
    (
        "debug-echo",
        "quantity of the wrong type",
        _set(f"{POD}.containers[0].resources.limits.memory", True),
        [
            (
                f"{POD}.containers[0].resources.limits.memory",
                "expected a string or a number, got a boolean",
            )
        ],
    ),
    (
        "debug-echo",
        "unknown ServiceSpec field",
        _set("spec.instanceServiceSpec.portz", []),
        [("spec.instanceServiceSpec.portz", 'unknown field (did you mean "ports"?)')],
    ),
    (
        "debug-echo",
        "IntOrString of the wrong type",
        _set("spec.configurationServiceSpec.ports[0].targetPort", [6052]),
        [
            (
                "spec.configurationServiceSpec.ports[0].targetPort",
                "expected an integer or a string, got a list",
            )
        ],
    ),
    (
        "onvif",
        "unknown JobSpec field",
        _set("spec.brokerSpec.brokerJobSpec.paralellism", 1),
        [
            (
                "spec.brokerSpec.brokerJobSpec.paralellism",
                'unknown field (did you mean "parallelism"?)',
            )
        ],
    ),
    (
        "onvif",
        "wrong type deep in the job's pod template",
        _set("spec.brokerSpec.brokerJobSpec.template.spec.containers[0].env[0].value", 1),
        [
            (
                "spec.brokerSpec.brokerJobSpec.template.spec.containers[0].env[0].value",
                "expected a string, got an integer",
            )
        ],
    ),
    (
        "debug-echo",
        "unknown field in the Configuration spec",
        _set("spec.capacityy", 2),
        [("spec.capacityy", 'unknown field (did you mean "capacity"?)')],
    ),
    (
        "debug-echo",
        "unknown metadata field",
        _set("metadata.label", {}),
        [("metadata.label", 'unknown field (did you mean "labels"?)')],
    ),
    (
        "debug-echo",
        "capacity of the wrong type",
        _set("spec.capacity", "2"),
        [("spec.capacity", "expected an integer, got a string")],
    ),
    (
        "debug-echo",
        "negative capacity",
        _set("spec.capacity", -1),
        [("spec.capacity", "must not be negative")],
    ),
    (
        "debug-echo",
        "brokerProperties not strings",
        _set("spec.brokerProperties", {"A": 1}),
        [("spec.brokerProperties.A", "expected a string, got an integer")],
    ),
    (
        "debug-echo",
        "no discovery handler",
        _drop("spec.discoveryHandler"),
        [(HANDLER, "is required")],
    ),
    (
        "debug-echo",
        "discovery handler without a name",
        _drop("spec.discoveryHandler.name"),
        [(f"{HANDLER}.name", "is required: it names the discovery handler")],
    ),
    (
        "debug-echo",
        "discoveryDetails not a string",
        _set(f"{HANDLER}.discoveryDetails", {"descriptions": ["foo0"]}),
        [(UDEV_DETAILS, "expected a string, got an object")],
    ),
    (
        "debug-echo",
        "both broker kinds",
        _set("spec.brokerSpec.brokerJobSpec", {"template": {}}),
        [
            (
                "spec.brokerSpec",
                "needs exactly one of brokerJobSpec, brokerPodSpec (found brokerJobSpec and brokerPodSpec)",
            )
        ],
    ),
    (
        "udev",
        "bad udev permissions",
        _set(UDEV_DETAILS, 'udevRules: ["KERNEL==\\"video0\\""]\npermissions: rwx\n'),
        [
            (
                f"{UDEV_DETAILS}.permissions",
                "invalid udev device permissions: must be one of r, w, m, rw, rm, rwm, wm (got 'rwx')",
            )
        ],
    ),
    (
        "udev",
        "udev details without rules",
        _set(UDEV_DETAILS, "permissions: r\n"),
        [(f"{UDEV_DETAILS}.udevRules", "is required (a list of udev rules)")],
    ),
    (
        "udev",
        "udev details that are not YAML",
        _set(UDEV_DETAILS, "udevRules: [\n"),
        [(UDEV_DETAILS, "is not valid YAML at line 2 (udev details)")],
    ),
    (
        "debug-echo",
        "capacity above the limit",
        _set("spec.capacity", 1_000_000),
        [("spec.capacity", "must be at most 1024 (slots per Instance)")],
    ),
    (
        "debug-echo",
        "capacity of 2**63-1",
        _set("spec.capacity", 9223372036854775807),
        [("spec.capacity", "must be at most 1024 (slots per Instance)")],
    ),
    (
        "debug-echo",
        "debugEcho details without descriptions",
        _set(UDEV_DETAILS, "other: 1\n"),
        [(f"{UDEV_DETAILS}.descriptions", "is required (a list of strings)")],
    ),
    (
        "debug-echo",
        "debugEcho descriptions not strings",
        _set(UDEV_DETAILS, "descriptions: [1, {a: b}]\n"),
        [(f"{UDEV_DETAILS}.descriptions", "expected a list of strings")],
    ),
    (
        "debug-echo",
        "debugEcho details with an alias explosion",
        _set(UDEV_DETAILS, BILLION_LAUGHS),
        [
            (
                UDEV_DETAILS,
                "is not safe YAML (debugEcho details): expands to more than 1000000 nodes (aliases included)",
            )
        ],
    ),
    (
        "onvif",
        "ONVIF filter list items not strings",
        _set(UDEV_DETAILS, "ipAddresses: {action: Include, items: [1]}\n"),
        [(f"{UDEV_DETAILS}.ipAddresses.items", "expected a list of strings")],
    ),
    (
        "onvif",
        "ONVIF filter action unknown",
        _set(UDEV_DETAILS, "uuids: {action: Drop, items: []}\n"),
        [(f"{UDEV_DETAILS}.uuids.action", "expected Include or Exclude")],
    ),
    (
        "onvif",
        "ONVIF timeout out of range",
        _set(UDEV_DETAILS, "discoveryTimeoutSeconds: 600\n"),
        [(f"{UDEV_DETAILS}.discoveryTimeoutSeconds", "expected more than 0 and at most 60")],
    ),
    (
        "onvif",
        "ONVIF details nested too deep",
        _set(UDEV_DETAILS, "scopes: " + "[" * 3000 + "]" * 3000 + "\n"),
        [
            (
                UDEV_DETAILS,
                "is not safe YAML (onvif details): nested deeper than the limit of 64 levels",
            )
        ],
    ),
    (
        "udev",
        "udev details with an alias explosion",
        _set(UDEV_DETAILS, BILLION_LAUGHS),
        [
            (
                UDEV_DETAILS,
                "is not safe YAML (udev details): expands to more than 1000000 nodes (aliases included)",
            )
        ],
    ),
    (
        "udev",
        "a custom handler's details with an alias explosion",
        _both(_set(f"{HANDLER}.name", "myHandler"), _set(UDEV_DETAILS, BILLION_LAUGHS)),
        [
            (
                UDEV_DETAILS,
                "is not safe YAML (discovery details): expands to more than 1000000 nodes (aliases included)",
            )
        ],
    ),
    (
        "udev",
        "udev groupRecursive not a boolean",
        _set(UDEV_DETAILS, "udevRules: []\ngroupRecursive: [1]\n"),
        [(f"{UDEV_DETAILS}.groupRecursive", "expected a boolean, got a list")],
    ),
    (
        "onvif",
        "property with both value and valueFrom",
        _set(f"{PROPS}[2].valueFrom", {"configMapKeyRef": {"name": "c", "key": "k"}}),
        [(f"{PROPS}[2]", "needs exactly one of value, valueFrom (found value and valueFrom)")],
    ),
    (
        "onvif",
        "property with neither value nor valueFrom",
        _set(f"{PROPS}[2]", {"name": "region"}),
        [(f"{PROPS}[2]", "needs exactly one of value, valueFrom (found neither)")],
    ),
    (
        "onvif",
        "property with an unknown valueFrom kind",
        _set(f"{PROPS}[0].valueFrom", {"fieldRef": {"fieldPath": "metadata.name"}}),
        [
            (
                f"{PROPS}[0].valueFrom",
                "needs exactly one of secretKeyRef, configMapKeyRef (found neither)",
            ),
            (f"{PROPS}[0].valueFrom.fieldRef", "unknown field"),
        ],
    ),
    (
        "onvif",
        "property with an empty valueFrom",
        _set(f"{PROPS}[0].valueFrom", {}),
        [
            (
                f"{PROPS}[0].valueFrom",
                "needs exactly one of secretKeyRef, configMapKeyRef (found neither)",
            )
        ],
    ),
    (
        "onvif",
        "property without a name",
        _set(f"{PROPS}[2]", {"value": "north"}),
        [(f"{PROPS}[2].name", "is required")],
    ),
    (
        "onvif",
        "property name with a bad character",
        _set(f"{PROPS}[2].name", "my-region"),
        [(f"{PROPS}[2].name", "must match ^[_A-Za-z][_A-Za-z0-9]*$")],
    ),
    (
        "onvif",
        "secret reference without a name",
        _set(f"{PROPS}[1].valueFrom.secretKeyRef", {"key": "password"}),
        [(f"{PROPS}[1].valueFrom.secretKeyRef.name", "is required")],
    ),
    (
        "onvif",
        "duplicate property names",
        _set(f"{PROPS}[2].name", "username"),
        [(f"{PROPS}[2].name", "duplicate property name 'username'")],
    ),
    (
        "debug-echo",
        "another kind of object",
        _set("kind", "Pod"),
        [("kind", "expected Configuration")],
    ),
]


@pytest.mark.parametrize(
    ("name", "edit", "expected"),
    [pytest.param(name, edit, expected, id=case) for name, case, edit, expected in REJECTED],
)
def test_refusals_name_the_path_and_the_reason(
    name: str, edit: Callable[[dict[str, Any]], None], expected: list[tuple[str, str]]
) -> None:
    obj = sample(name)
    edit(obj)
    assert problems(obj) == expected


def test_every_problem_is_reported_not_just_the_first() -> None:
    obj = sample("onvif")
    job = obj["spec"]["brokerSpec"]["brokerJobSpec"]
    job["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    job["backoffLimit"] = "2"
    obj["spec"]["instanceServiceSpec"] = {"type": "ClusterIP", "ports": [{"port": "80"}]}
    obj["spec"]["discoveryHandler"]["discoveryProperties"][2]["valueFrom"] = {
        "secretKeyRef": {"name": "s"}
    }
    found = {p for p, _ in problems(obj)}
    assert found == {
        f"{PROPS}[2]",
        "spec.brokerSpec.brokerJobSpec.backoffLimit",
        "spec.brokerSpec.brokerJobSpec.template.spec.containers[0].imagePullPolicyy",
        "spec.instanceServiceSpec.ports[0].port",
    }


def test_udev_permissions_are_checked_whatever_the_case_of_the_handler_name() -> None:
    obj = sample("udev")
    obj["spec"]["discoveryHandler"]["name"] = "UDEV"
    obj["spec"]["discoveryHandler"]["discoveryDetails"] = "udevRules: []\npermissions: x\n"
    assert [p for p, _ in problems(obj)] == [f"{UDEV_DETAILS}.permissions"]


@pytest.mark.parametrize("permissions", ["r", "w", "m", "rw", "rm", "rwm", "wm"])
def test_every_upstream_udev_permission_is_admitted(permissions: str) -> None:
    obj = sample("udev")
    obj["spec"]["discoveryHandler"]["discoveryDetails"] = (
        f"udevRules: ['KERNEL==\"video0\"']\npermissions: {permissions}\n"
    )
    assert problems(obj) == []


def test_values_are_never_quoted_in_reasons() -> None:
    obj = sample("onvif")
    obj["spec"]["discoveryHandler"]["discoveryProperties"][2]["value"] = {"password": "hunter2"}
    container = obj["spec"]["brokerSpec"]["brokerJobSpec"]["template"]["spec"]["containers"][0]
    container["env"][0]["value"] = ["hunter2"]
    reasons = " ".join(reason for _, reason in problems(obj))
    assert "hunter2" not in reasons


def test_not_an_object() -> None:
    assert validate_configuration(["a"], SCHEMAS) == [
        Problem("(document)", "expected an object, got a list")
    ]


def test_samples_are_not_changed_by_validation() -> None:
    obj = sample("onvif")
    before = copy.deepcopy(obj)
    validate_configuration(obj, SCHEMAS)
    assert obj == before
