"""The broker Pods, Jobs and Services the controller creates, built from an Instance and its
Configuration. Pure: the same inputs always give the same object.

A broker Pod carries the annotation ``akri.sh/broker-spec-hash``, a digest of the spec it was built
from, so that a changed ``brokerPodSpec`` can be told from the running one and the pod replaced.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from akri_common.crds import GROUP
from akri_common.ids import ConfigurationName, NodeName
from akri_controller.brokers import names
from akri_controller.brokers.owners import BrokerInstance, Owner
from akri_controller.brokers.resources import pinned_to, with_resource

JsonObject = dict[str, Any]
SPEC_HASH_ANNOTATION = f"{GROUP}/broker-spec-hash"


def spec_hash(spec: Mapping[str, Any]) -> str:
    """A short, stable digest of a spec (key order does not matter)."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def pod_manifest(
    instance: BrokerInstance, *, node: NodeName, broker_pod_spec: Mapping[str, Any]
) -> JsonObject:
    """The broker Pod for ``instance`` on ``node``."""
    name = names.pod_name(instance.name, node=node, shared=instance.shared)
    spec = pinned_to(with_resource(broker_pod_spec, names.resource_name(instance.name)), node)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": instance.namespace,
            "labels": names.pod_labels(
                name=name,
                configuration=instance.configuration,
                instance=instance.name,
                node=node,
            ),
            "annotations": {SPEC_HASH_ANNOTATION: spec_hash(spec)},
            "ownerReferences": [instance.owner.reference()],
        },
        "spec": spec,
    }


def job_manifest(
    instance: BrokerInstance, *, generation: int, broker_job_spec: Mapping[str, Any]
) -> JsonObject:
    """The broker Job for ``instance`` and this generation of its Configuration."""
    name = names.job_name(instance.name, generation=generation)
    spec = copy.deepcopy(dict(broker_job_spec))
    template = dict(spec.get("template") or {})
    template_metadata = dict(template.get("metadata") or {})
    template_metadata["labels"] = {
        **(template_metadata.get("labels") or {}),
        names.CONFIGURATION_LABEL: instance.configuration,
        names.INSTANCE_LABEL: instance.name,
    }
    template["metadata"] = template_metadata
    template["spec"] = with_resource(template.get("spec") or {}, names.resource_name(instance.name))
    spec["template"] = template
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": instance.namespace,
            "labels": names.job_labels(
                name=name, configuration=instance.configuration, instance=instance.name
            ),
            "ownerReferences": [instance.owner.reference()],
        },
        "spec": spec,
    }


def instance_service_manifest(
    instance: BrokerInstance, *, service_spec: Mapping[str, Any]
) -> JsonObject:
    """``<instance>-svc``, selecting the Instance's broker pods, owned by the Instance."""
    name = names.instance_service_name(instance.name)
    selector = {names.CONTROLLER_LABEL: names.CONTROLLER_VALUE, names.INSTANCE_LABEL: instance.name}
    return _service(
        name=name,
        namespace=instance.namespace,
        labels=names.instance_service_labels(name=name, instance=instance.name),
        selector=selector,
        owner=instance.owner,
        service_spec=service_spec,
    )


def configuration_service_manifest(
    *,
    configuration: ConfigurationName,
    namespace: str,
    owner: Owner,
    service_spec: Mapping[str, Any],
) -> JsonObject:
    """``<configuration>-svc``, selecting every broker pod of the Configuration, owned by it."""
    name = names.configuration_service_name(configuration)
    selector = {
        names.CONTROLLER_LABEL: names.CONTROLLER_VALUE,
        names.CONFIGURATION_LABEL: configuration,
    }
    return _service(
        name=name,
        namespace=namespace,
        labels=names.configuration_service_labels(name=name, configuration=configuration),
        selector=selector,
        owner=owner,
        service_spec=service_spec,
    )


def _service(
    *,
    name: str,
    namespace: str,
    labels: dict[str, str],
    selector: dict[str, str],
    owner: Owner,
    service_spec: Mapping[str, Any],
) -> JsonObject:
    spec = copy.deepcopy(dict(service_spec))
    spec["selector"] = {**(spec.get("selector") or {}), **selector}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [owner.reference()],
        },
        "spec": spec,
    }
