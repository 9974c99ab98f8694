"""Names and labels of broker Pods, Jobs and Services, exactly as upstream Akri's controller sets them.

Dots in Instance names become dashes (object names must be DNS labels). A shared Instance gets one
pod per node (``<node>-<instance>-pod``); an unshared one has a single node, so ``<instance>-pod``.
"""

from __future__ import annotations

from akri_common.crds import GROUP
from akri_common.ids import ConfigurationName, InstanceName, NodeName

CONTROLLER_LABEL = "controller"
CONTROLLER_VALUE = GROUP
APP_LABEL = "app"
CONFIGURATION_LABEL = f"{GROUP}/configuration"
INSTANCE_LABEL = f"{GROUP}/instance"
TARGET_NODE_LABEL = f"{GROUP}/target-node"
PLACEHOLDER = "{{PLACEHOLDER}}"


def _dns(name: str) -> str:
    return name.replace(".", "-")


def pod_name(instance: InstanceName, *, node: NodeName, shared: bool) -> str:
    """``<node>-<instance>-pod`` for a shared Instance, ``<instance>-pod`` otherwise."""
    base = _dns(instance)
    return f"{node}-{base}-pod" if shared else f"{base}-pod"


def job_name(instance: InstanceName, *, generation: int) -> str:
    """``<instance>-<configuration generation>-job`` (no node prefix, even when shared)."""
    return f"{_dns(instance)}-{generation}-job"


def instance_service_name(instance: InstanceName) -> str:
    return f"{_dns(instance)}-svc"


def configuration_service_name(configuration: ConfigurationName) -> str:
    return f"{_dns(configuration)}-svc"


def resource_name(instance: InstanceName) -> str:
    """The extended resource that replaces ``{{PLACEHOLDER}}``: ``akri.sh/<instance>``."""
    return f"{GROUP}/{instance}"


def pod_labels(
    *, name: str, configuration: ConfigurationName, instance: InstanceName, node: NodeName
) -> dict[str, str]:
    return {
        APP_LABEL: name,
        CONTROLLER_LABEL: CONTROLLER_VALUE,
        CONFIGURATION_LABEL: configuration,
        INSTANCE_LABEL: instance,
        TARGET_NODE_LABEL: node,
    }


def job_labels(
    *, name: str, configuration: ConfigurationName, instance: InstanceName
) -> dict[str, str]:
    return {
        APP_LABEL: name,
        CONTROLLER_LABEL: CONTROLLER_VALUE,
        CONFIGURATION_LABEL: configuration,
        INSTANCE_LABEL: instance,
    }


def instance_service_labels(*, name: str, instance: InstanceName) -> dict[str, str]:
    return {APP_LABEL: name, CONTROLLER_LABEL: CONTROLLER_VALUE, INSTANCE_LABEL: instance}


def configuration_service_labels(*, name: str, configuration: ConfigurationName) -> dict[str, str]:
    return {APP_LABEL: name, CONTROLLER_LABEL: CONTROLLER_VALUE, CONFIGURATION_LABEL: configuration}
