"""parse_configuration against upstream's sample Configurations and against bad input (spec §3.1)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from akri_common.crds.configuration import (
    Configuration,
    DiscoveryProperty,
    KeyRef,
    parse_configuration,
)
from akri_common.crds.errors import InvalidResourceError

DEBUG_ECHO = """
apiVersion: akri.sh/v0
kind: Configuration
metadata:
  name: akri-debug-echo-foo
  namespace: default
  uid: 9d2c6c5e-1
  generation: 3
spec:
  discoveryHandler:
    name: debugEcho
    discoveryDetails: |+
      descriptions:
      - "foo0"
      - "foo1"
  brokerSpec:
    brokerPodSpec:
      containers:
      - name: akri-debug-echo-foo-broker
        image: "nginx:stable-alpine"
        resources:
          requests:
            "{{PLACEHOLDER}}": "1"
            memory: 10Mi
            cpu: 10m
          limits:
            "{{PLACEHOLDER}}": "1"
            memory: 30Mi
            cpu: 29m
  instanceServiceSpec:
    type: ClusterIP
    ports:
    - name: akri-debug-echo-foo-instance-service
      port: 6052
      protocol: TCP
      targetPort: 6052
  configurationServiceSpec:
    type: ClusterIP
    ports:
    - name: akri-debug-echo-foo-configuration-service
      port: 6052
      protocol: TCP
      targetPort: 6052
  brokerProperties: {}
  capacity: 2
"""

UDEV = """
apiVersion: akri.sh/v0
kind: Configuration
metadata:
  name: akri-udev-video
spec:
  discoveryHandler:
    name: udev
    discoveryDetails: |+
      groupRecursive: true
      udevRules:
      - KERNEL=="video[0-9]*"
  brokerSpec:
    brokerJobSpec:
      template:
        spec:
          containers:
          - name: akri-udev-video-broker
            image: ghcr.io/project-akri/akri/udev-video-broker:latest
          restartPolicy: OnFailure
      backoffLimit: 2
      parallelism: 1
      completions: 1
  brokerProperties:
    RESOLUTION_WIDTH: "1024"
  capacity: 1
"""

ONVIF = """
apiVersion: akri.sh/v0
kind: Configuration
metadata:
  name: akri-onvif
  namespace: cameras
spec:
  discoveryHandler:
    name: onvif
    discoveryDetails: |+
      ipAddresses:
        action: Exclude
        items: []
      discoveryTimeoutSeconds: 1
    discoveryProperties:
    - name: nonce
      value: "8e1f"
    - name: username
      valueFrom:
        secretKeyRef:
          name: onvif-auth-secret
          namespace: cameras
          key: username
          optional: true
    - name: device_uuids
      valueFrom:
        configMapKeyRef:
          name: onvif-devices
          key: uuids
    - name: _empty
      value: null
"""


def _load(text: str) -> dict[str, Any]:
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def test_debug_echo_sample() -> None:
    config = parse_configuration(_load(DEBUG_ECHO))
    assert isinstance(config, Configuration)
    assert (config.name, config.namespace, config.uid, config.generation) == (
        "akri-debug-echo-foo",
        "default",
        "9d2c6c5e-1",
        3,
    )
    assert config.discovery_handler.name == "debugEcho"
    assert config.discovery_handler.discovery_details == 'descriptions:\n- "foo0"\n- "foo1"\n'
    assert config.discovery_handler.discovery_properties == ()
    assert config.capacity == 2
    assert config.broker_properties == {}
    assert config.broker_pod_spec is not None
    assert config.broker_pod_spec["containers"][0]["image"] == "nginx:stable-alpine"
    assert config.broker_job_spec is None
    assert config.instance_service_spec is not None
    assert config.instance_service_spec["ports"][0]["port"] == 6052
    assert config.configuration_service_spec is not None


def test_udev_sample_with_a_job_broker() -> None:
    config = parse_configuration(_load(UDEV))
    assert config.discovery_handler.name == "udev"
    assert "udevRules" in config.discovery_handler.discovery_details
    assert config.namespace == "default"
    assert config.broker_pod_spec is None
    assert config.broker_job_spec is not None
    assert config.broker_job_spec["backoffLimit"] == 2
    assert config.broker_properties == {"RESOLUTION_WIDTH": "1024"}
    assert config.instance_service_spec is None
    assert config.configuration_service_spec is None


def test_onvif_sample_with_discovery_properties() -> None:
    config = parse_configuration(_load(ONVIF))
    assert config.capacity == 1, "capacity defaults to 1"
    assert config.discovery_handler.discovery_properties == (
        DiscoveryProperty(name="nonce", value="8e1f"),
        DiscoveryProperty(
            name="username",
            value_from=KeyRef(
                kind="secret",
                name="onvif-auth-secret",
                key="username",
                namespace="cameras",
                optional=True,
            ),
        ),
        DiscoveryProperty(
            name="device_uuids",
            value_from=KeyRef(kind="configMap", name="onvif-devices", key="uuids"),
        ),
        DiscoveryProperty(name="_empty"),
    )


def test_minimal_configuration_takes_upstream_defaults() -> None:
    config = parse_configuration(
        {"metadata": {"name": "c"}, "spec": {"discoveryHandler": {"name": "debugEcho"}}}
    )
    assert config.namespace == "default"
    assert config.capacity == 1
    assert config.discovery_handler.discovery_details == ""
    assert config.broker_properties == {}
    assert config.broker_pod_spec is None


def _onvif_with(path: str, value: Any) -> dict[str, Any]:
    """The ONVIF sample with one field replaced (``None`` deletes it); dotted path, [i] for lists."""
    obj = copy.deepcopy(_load(ONVIF))
    *parents, last = path.split(".")
    node: Any = obj
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    key: Any = int(last) if last.isdigit() else last
    if value is None:
        del node[key]
    else:
        node[key] = value
    return obj


PROPERTY = "spec.discoveryHandler.discoveryProperties"


@pytest.mark.parametrize(
    ("obj", "path", "reason"),
    [
        (_onvif_with("spec.discoveryHandler", None), "spec.discoveryHandler", "is required"),
        (_onvif_with("spec.capacity", "two"), "spec.capacity", "expected an integer"),
        (_onvif_with("spec.capacity", -1), "spec.capacity", "must not be negative"),
        (_onvif_with("spec.capacity", True), "spec.capacity", "expected an integer"),
        (
            _onvif_with("spec.discoveryHandler.discoveryProperties.0.name", "1x"),
            f"{PROPERTY}[0].name",
            "must match",
        ),
        (
            _onvif_with("spec.discoveryHandler.discoveryProperties.1.value", "literal"),
            f"{PROPERTY}[1]",
            "set value or valueFrom, not both",
        ),
        (
            _onvif_with(
                "spec.discoveryHandler.discoveryProperties.1.valueFrom",
                {"fieldRef": {"fieldPath": "metadata.name"}},
            ),
            f"{PROPERTY}[1].valueFrom",
            "exactly one of secretKeyRef or configMapKeyRef",
        ),
        (
            _onvif_with("spec.discoveryHandler.discoveryProperties.1.valueFrom", {}),
            f"{PROPERTY}[1].valueFrom",
            "exactly one of secretKeyRef or configMapKeyRef",
        ),
        (
            _onvif_with(
                "spec.discoveryHandler.discoveryProperties.2.valueFrom.configMapKeyRef.name", None
            ),
            f"{PROPERTY}[2].valueFrom.configMapKeyRef.name",
            "expected a string",
        ),
        (
            _onvif_with("spec.discoveryHandler.discoveryProperties.0.name", None),
            f"{PROPERTY}[0].name",
            "expected a string",
        ),
        (
            _onvif_with("spec.discoveryHandler.discoveryProperties.3.name", "nonce"),
            f"{PROPERTY}[3].name",
            "is a duplicate",
        ),
        (
            _onvif_with("spec.brokerSpec", {"brokerPodSpec": {}, "brokerJobSpec": {}}),
            "spec.brokerSpec",
            "set brokerPodSpec or brokerJobSpec, not both",
        ),
        (
            _onvif_with("spec.brokerProperties", {"RESOLUTION": 1024}),
            "spec.brokerProperties.RESOLUTION",
            "expected a string",
        ),
        (_onvif_with("spec.discoveryHandler.name", ""), "spec.discoveryHandler.name", "must name"),
        (_onvif_with("spec.discoveryHandler.name", None), "spec.discoveryHandler.name", "expected"),
        (_onvif_with(PROPERTY, {}), PROPERTY, "expected a list"),
        (
            _onvif_with(f"{PROPERTY}.1.valueFrom.secretKeyRef.optional", "yes"),
            f"{PROPERTY}[1].valueFrom.secretKeyRef.optional",
            "expected true or false",
        ),
        (_onvif_with("spec.capacity", 1025), "spec.capacity", "must be at most 1024"),
        (
            _onvif_with("spec.capacity", 10**5000),
            "spec.capacity",
            "must be at most 1024",
        ),
        (_onvif_with("metadata.name", "Akri-Onvif"), "metadata.name", "must be lower-case"),
        (_onvif_with("metadata.name", "cam\n"), "metadata.name", "must be lower-case"),
        (_onvif_with("metadata.name", "-cam"), "metadata.name", "must be lower-case"),
        (_onvif_with("metadata.name", "c" * 57), "metadata.name", "at most 56 characters"),
        (
            _onvif_with("spec.discoveryHandler.discoveryProperties.0.name", "USER\n"),
            f"{PROPERTY}[0].name",
            "must match",
        ),
        (_onvif_with("metadata.name", None), "metadata.name", "expected a string"),
        (_onvif_with("apiVersion", "akri.sh/v1"), "apiVersion", "expected akri.sh/v0"),
        (_onvif_with("kind", "Instance"), "kind", "expected Configuration"),
        (_onvif_with("spec", None), "spec", "expected an object"),
        (["not", "an", "object"], "(document)", "expected an object"),
    ],
)
def test_rejects_bad_configurations_naming_the_field(obj: Any, path: str, reason: str) -> None:
    with pytest.raises(InvalidResourceError) as caught:
        parse_configuration(obj)
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}: ")


def test_names_kubernetes_accepts_pass() -> None:
    for name in ("c", "akri-onvif", "cam.lobby-2", "c" * 56):
        assert parse_configuration(_onvif_with("metadata.name", name)).name == name


def test_error_messages_stay_short_whatever_the_value() -> None:
    for value in (list(range(10**6)), 10**5000, "x" * 10**6, {"a": [[[[[[["deep"]]]]]]]}):
        with pytest.raises(InvalidResourceError) as caught:
            parse_configuration(_onvif_with("spec.capacity", value))
        assert len(str(caught.value)) < 200


def test_error_message_shows_the_value() -> None:
    with pytest.raises(
        InvalidResourceError, match=r"^spec\.capacity: expected an integer \(got 'two'\)$"
    ):
        parse_configuration(_onvif_with("spec.capacity", "two"))
