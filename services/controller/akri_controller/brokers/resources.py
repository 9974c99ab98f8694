"""Filling in a broker spec: ``{{PLACEHOLDER}}`` becomes the Instance's resource, and node pinning.

In every container and init container, a ``{{PLACEHOLDER}}`` key in ``resources.limits`` or
``resources.requests`` is replaced by ``akri.sh/<instance>`` with the same quantity (``claims`` are
dropped, as upstream does). Pinning appends a ``matchFields metadata.name In [node]`` term to the
required node affinity, ORed with whatever terms the user gave. Inputs are never modified.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from akri_controller.brokers.names import PLACEHOLDER

JsonObject = dict[str, Any]


def with_resource(pod_spec: Mapping[str, Any], resource: str) -> JsonObject:
    """A copy of ``pod_spec`` with ``{{PLACEHOLDER}}`` replaced by ``resource`` everywhere."""
    spec: JsonObject = copy.deepcopy(dict(pod_spec))
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or ():
            resources = container.get("resources")
            if not isinstance(resources, dict):
                continue
            replaced = False
            for kind in ("limits", "requests"):
                amounts = resources.get(kind)
                if isinstance(amounts, dict) and PLACEHOLDER in amounts:
                    amounts[resource] = amounts.pop(PLACEHOLDER)
                    replaced = True
            if replaced:
                resources.pop("claims", None)
    return spec


def pinned_to(pod_spec: Mapping[str, Any], node: str) -> JsonObject:
    """A copy of ``pod_spec`` that may only run on ``node`` (a term appended to the user's)."""
    spec: JsonObject = copy.deepcopy(dict(pod_spec))
    affinity = spec.setdefault("affinity", {}) or {}
    spec["affinity"] = affinity
    node_affinity = affinity.setdefault("nodeAffinity", {}) or {}
    affinity["nodeAffinity"] = node_affinity
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = required
    terms = list(required.get("nodeSelectorTerms") or [])
    terms.append({"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]})
    required["nodeSelectorTerms"] = terms
    return spec
