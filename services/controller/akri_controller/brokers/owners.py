"""The objects brokers and services belong to, and the ownerReferences that tie them together.

An Instance owns its broker Pods, Jobs and instance Service; a Configuration owns its configuration
Service. Both references are controller references that block the owner's deletion until the
garbage collector has removed the dependant, as upstream sets them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from akri_common.crds import API_VERSION
from akri_common.crds.configuration import KIND as CONFIGURATION_KIND
from akri_common.crds.instance import KIND as INSTANCE_KIND
from akri_common.ids import ConfigurationName, InstanceName, NodeName


@dataclass(frozen=True)
class Owner:
    kind: str
    name: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True)
class BrokerInstance:
    """What the controller needs of an Instance object."""

    name: InstanceName
    namespace: str
    uid: str
    configuration: ConfigurationName
    shared: bool
    nodes: tuple[NodeName, ...]

    @property
    def owner(self) -> Owner:
        return Owner(kind=INSTANCE_KIND, name=self.name, uid=self.uid)

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> BrokerInstance:
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        return cls(
            name=InstanceName(str(metadata.get("name", ""))),
            namespace=str(metadata.get("namespace", "")),
            uid=str(metadata.get("uid", "")),
            configuration=ConfigurationName(str(spec.get("configurationName", ""))),
            shared=bool(spec.get("shared", False)),
            nodes=tuple(NodeName(str(n)) for n in spec.get("nodes") or ()),
        )


def configuration_owner(*, name: ConfigurationName, uid: str) -> Owner:
    return Owner(kind=CONFIGURATION_KIND, name=name, uid=uid)


def controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The object's controller ownerReference, if it has one."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return dict(ref)
    return None
