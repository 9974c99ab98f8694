"""What ``akri discover`` prints: the Instances the agent would create, as plain data.

Pure: a ``DiscoveryState`` becomes one document with the Configuration, this node, the handler
endpoints and, per Instance, its name, its spec exactly as the agent would apply it, and the device
behind it (properties, mounts and device specs that a pod using it would get).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from akri_agent.discovery.desired import DesiredInstance
from akri_agent.discovery.manager import DiscoveryState


def document(state: DiscoveryState, *, node: str) -> dict[str, Any]:
    configuration = state.configuration
    return {
        "configuration": configuration.name,
        "namespace": configuration.namespace,
        "handler": configuration.discovery_handler.name,
        "node": node,
        "endpoints": [e.address for e in state.endpoints],
        "instances": [_instance(i) for i in state.instances],
    }


def _instance(instance: DesiredInstance) -> dict[str, Any]:
    device = instance.device
    return {
        "name": instance.name,
        "namespace": instance.namespace,
        "spec": instance.spec.to_dict(),
        "device": {
            "id": device.id,
            "properties": dict(device.properties),
            "mounts": [
                {
                    "containerPath": m.container_path,
                    "hostPath": m.host_path,
                    "readOnly": m.read_only,
                }
                for m in device.mounts
            ],
            "deviceSpecs": [
                {
                    "containerPath": s.container_path,
                    "hostPath": s.host_path,
                    "permissions": s.permissions,
                }
                for s in device.device_specs
            ],
        },
    }


def dump(doc: dict[str, Any], *, fmt: str) -> str:
    """One document as text: a JSON line, or a YAML document starting with ``---``."""
    if fmt == "json":
        return json.dumps(doc, sort_keys=False) + "\n"
    return "---\n" + yaml.safe_dump(doc, sort_keys=False)
