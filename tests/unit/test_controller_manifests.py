"""Broker names, labels and manifests, as upstream Akri's controller builds them."""

from __future__ import annotations

from typing import Any

import pytest

from akri_common.ids import ConfigurationName, InstanceName, NodeName
from akri_controller.brokers import names
from akri_controller.brokers.manifests import (
    SPEC_HASH_ANNOTATION,
    configuration_service_manifest,
    instance_service_manifest,
    job_manifest,
    pod_manifest,
    spec_hash,
)
from akri_controller.brokers.owners import BrokerInstance, configuration_owner
from akri_controller.brokers.resources import pinned_to, with_resource

SHARED = BrokerInstance(
    name=InstanceName("cam-8120fe"),
    namespace="ns",
    uid="i-uid",
    configuration=ConfigurationName("cam"),
    shared=True,
    nodes=(NodeName("node-a"), NodeName("node-b")),
)
OWNER = {
    "apiVersion": "akri.sh/v0",
    "kind": "Instance",
    "name": "cam-8120fe",
    "uid": "i-uid",
    "controller": True,
    "blockOwnerDeletion": True,
}


@pytest.mark.parametrize(
    ("instance", "node", "shared", "expected"),
    [
        ("cam-8120fe", "node-a", True, "node-a-cam-8120fe-pod"),
        ("cam-8120fe", "node-a", False, "cam-8120fe-pod"),
        ("cam.v1-8120fe", "node-a", False, "cam-v1-8120fe-pod"),
        ("cam.v1-8120fe", "node-a", True, "node-a-cam-v1-8120fe-pod"),
    ],
)
def test_pod_names(instance: str, node: str, shared: bool, expected: str) -> None:
    assert names.pod_name(InstanceName(instance), node=NodeName(node), shared=shared) == expected


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: names.job_name(InstanceName("cam.x-8120fe"), generation=3), "cam-x-8120fe-3-job"),
        (lambda: names.instance_service_name(InstanceName("cam.x-8120fe")), "cam-x-8120fe-svc"),
        (lambda: names.configuration_service_name(ConfigurationName("cam.x")), "cam-x-svc"),
        (lambda: names.resource_name(InstanceName("cam-8120fe")), "akri.sh/cam-8120fe"),
    ],
)
def test_other_names(build: Any, expected: str) -> None:
    assert build() == expected


def container(resources: dict[str, Any]) -> dict[str, Any]:
    return {"name": "c", "image": "busybox", "resources": resources}


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (
            {"limits": {"{{PLACEHOLDER}}": "1", "cpu": "1"}, "requests": {"{{PLACEHOLDER}}": "1"}},
            {
                "limits": {"akri.sh/cam-8120fe": "1", "cpu": "1"},
                "requests": {"akri.sh/cam-8120fe": "1"},
            },
        ),
        (
            {"limits": {"{{PLACEHOLDER}}": "2"}, "claims": [{"name": "x"}]},
            {"limits": {"akri.sh/cam-8120fe": "2"}},
        ),
        ({"limits": {"cpu": "1"}}, {"limits": {"cpu": "1"}}),
        ({}, {}),
    ],
)
def test_placeholder_is_replaced_in_every_container(
    resources: dict[str, Any], expected: dict[str, Any]
) -> None:
    spec = {"containers": [container(resources)], "initContainers": [container(resources)]}
    out = with_resource(spec, "akri.sh/cam-8120fe")
    assert out["containers"][0]["resources"] == expected
    assert out["initContainers"][0]["resources"] == expected
    assert spec["containers"][0]["resources"] == resources, "the input is not modified"


def test_pinning_appends_a_term_to_the_users() -> None:
    user_term = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
    spec: dict[str, Any] = {
        "containers": [],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [user_term]}
            },
            "podAffinity": {"x": 1},
        },
    }
    out = pinned_to(spec, "node-a")
    terms = out["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [
        user_term,
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-a"]}]},
    ]
    assert out["affinity"]["podAffinity"] == {"x": 1}
    assert pinned_to(spec, "node-a") == out, "the input is not modified"
    assert pinned_to({"containers": []}, "n")["affinity"] == {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n"]}]}
                ]
            }
        }
    }


def test_broker_pod_manifest() -> None:
    spec = {"containers": [container({"limits": {"{{PLACEHOLDER}}": "1"}})]}
    pod = pod_manifest(SHARED, node=NodeName("node-b"), broker_pod_spec=spec)
    metadata = pod["metadata"]
    assert (metadata["name"], metadata["namespace"]) == ("node-b-cam-8120fe-pod", "ns")
    assert metadata["labels"] == {
        "app": "node-b-cam-8120fe-pod",
        "controller": "akri.sh",
        "akri.sh/configuration": "cam",
        "akri.sh/instance": "cam-8120fe",
        "akri.sh/target-node": "node-b",
    }
    assert metadata["ownerReferences"] == [OWNER]
    assert pod["spec"]["containers"][0]["resources"] == {"limits": {"akri.sh/cam-8120fe": "1"}}
    assert metadata["annotations"][SPEC_HASH_ANNOTATION] == spec_hash(pod["spec"])
    other = pod_manifest(SHARED, node=NodeName("node-a"), broker_pod_spec=spec)
    assert other["metadata"]["annotations"] != metadata["annotations"], "pinning is in the hash"


def test_spec_hash_ignores_key_order() -> None:
    assert spec_hash({"a": 1, "b": [1, 2]}) == spec_hash({"b": [1, 2], "a": 1})
    assert spec_hash({"a": 1}) != spec_hash({"a": 2})


def test_broker_job_manifest() -> None:
    job_spec = {
        "parallelism": 1,
        "template": {
            "metadata": {"labels": {"mine": "yes"}},
            "spec": {
                "restartPolicy": "Never",
                "containers": [container({"requests": {"{{PLACEHOLDER}}": "1"}})],
            },
        },
    }
    job = job_manifest(SHARED, generation=4, broker_job_spec=job_spec)
    assert job["metadata"]["name"] == "cam-8120fe-4-job"
    assert job["metadata"]["labels"] == {
        "app": "cam-8120fe-4-job",
        "controller": "akri.sh",
        "akri.sh/configuration": "cam",
        "akri.sh/instance": "cam-8120fe",
    }
    assert job["metadata"]["ownerReferences"] == [OWNER]
    template = job["spec"]["template"]
    assert template["metadata"]["labels"] == {
        "mine": "yes",
        "akri.sh/configuration": "cam",
        "akri.sh/instance": "cam-8120fe",
    }
    assert "affinity" not in template["spec"], "a Job is not pinned to a node"
    assert template["spec"]["containers"][0]["resources"] == {
        "requests": {"akri.sh/cam-8120fe": "1"}
    }
    assert job["spec"]["parallelism"] == 1
    assert job_spec["template"]["metadata"] == {"labels": {"mine": "yes"}}  # type: ignore[index]


def test_instance_service_manifest() -> None:
    user = {"type": "ClusterIP", "selector": {"role": "x"}, "ports": [{"port": 80}]}
    service = instance_service_manifest(SHARED, service_spec=user)
    assert service["metadata"]["name"] == "cam-8120fe-svc"
    assert service["metadata"]["labels"] == {
        "app": "cam-8120fe-svc",
        "controller": "akri.sh",
        "akri.sh/instance": "cam-8120fe",
    }
    assert service["metadata"]["ownerReferences"] == [OWNER]
    assert service["spec"]["selector"] == {
        "role": "x",
        "controller": "akri.sh",
        "akri.sh/instance": "cam-8120fe",
    }
    assert service["spec"]["ports"] == [{"port": 80}]
    assert user["selector"] == {"role": "x"}


def test_configuration_service_manifest() -> None:
    service = configuration_service_manifest(
        configuration=ConfigurationName("cam"),
        namespace="ns",
        owner=configuration_owner(name=ConfigurationName("cam"), uid="c-uid"),
        service_spec={"ports": [{"port": 80}]},
    )
    assert service["metadata"]["name"] == "cam-svc"
    assert service["metadata"]["labels"] == {
        "app": "cam-svc",
        "controller": "akri.sh",
        "akri.sh/configuration": "cam",
    }
    assert service["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "akri.sh/v0",
            "kind": "Configuration",
            "name": "cam",
            "uid": "c-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert service["spec"]["selector"] == {"controller": "akri.sh", "akri.sh/configuration": "cam"}


def test_broker_instance_from_object() -> None:
    obj = {
        "metadata": {"name": "cam-8120fe", "namespace": "ns", "uid": "i-uid"},
        "spec": {"configurationName": "cam", "shared": True, "nodes": ["node-a", "node-b"]},
    }
    assert BrokerInstance.of(obj) == SHARED
