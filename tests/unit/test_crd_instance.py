"""InstanceSpec's canonical JSON and the Instance manifest an agent applies (spec §3.2)."""

from __future__ import annotations

import json

from akri_common.crds.instance import InstanceSpec, OwnerConfiguration, instance_manifest
from akri_common.ids import ConfigurationName, InstanceName, NodeName

UPSTREAM_MINIMAL = (
    '{"configurationName":"foo","cdiName":"akri.sh/foo=bar","capacity":1,'
    '"brokerProperties":{},"shared":false,"nodes":[],"deviceUsage":{}}'
)


def test_minimal_spec_serialises_exactly_as_upstream() -> None:
    spec = InstanceSpec(
        configuration_name=ConfigurationName("foo"), cdi_name="akri.sh/foo=bar", capacity=1
    )
    assert json.dumps(spec.to_dict(), separators=(",", ":")) == UPSTREAM_MINIMAL


def test_full_spec_round_trips_through_json() -> None:
    spec = InstanceSpec(
        configuration_name=ConfigurationName("onvif"),
        cdi_name="akri.sh/onvif=4294ea",
        capacity=2,
        broker_properties={"ONVIF_DEVICE_IP_ADDRESS": "10.0.0.7"},
        shared=True,
        nodes=(NodeName("node-a"), NodeName("node-b")),
        device_usage={"onvif-4294ea-0": "C:0:node-a", "onvif-4294ea-1": ""},
    )
    assert json.loads(json.dumps(spec.to_dict())) == {
        "configurationName": "onvif",
        "cdiName": "akri.sh/onvif=4294ea",
        "capacity": 2,
        "brokerProperties": {"ONVIF_DEVICE_IP_ADDRESS": "10.0.0.7"},
        "shared": True,
        "nodes": ["node-a", "node-b"],
        "deviceUsage": {"onvif-4294ea-0": "C:0:node-a", "onvif-4294ea-1": ""},
    }


def test_manifest_is_owned_by_its_configuration() -> None:
    spec = InstanceSpec(
        configuration_name=ConfigurationName("foo"), cdi_name="akri.sh/foo=8120fe", capacity=1
    )
    manifest = instance_manifest(
        name=InstanceName("foo-8120fe"),
        namespace="devices",
        spec=spec,
        owner=OwnerConfiguration(name=ConfigurationName("foo"), uid="uid-1"),
    )
    assert manifest == {
        "apiVersion": "akri.sh/v0",
        "kind": "Instance",
        "metadata": {
            "name": "foo-8120fe",
            "namespace": "devices",
            "ownerReferences": [
                {
                    "apiVersion": "akri.sh/v0",
                    "kind": "Configuration",
                    "name": "foo",
                    "uid": "uid-1",
                    "controller": True,
                }
            ],
        },
        "spec": spec.to_dict(),
    }
