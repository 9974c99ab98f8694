"""Instance names, CDI names and env suffixes against upstream Akri's test vectors (spec §3.3)."""

from __future__ import annotations

import pytest

from akri_common.crds.naming import cdi_name, device_hash, env_suffix, instance_name, resource_name
from akri_common.ids import ConfigurationName, DeviceId, NodeName


@pytest.mark.parametrize(
    ("device", "shared", "node", "expected"),
    [
        ("dev_1", True, "node-a", "cb2ad7"),
        ("dev_2", True, "node-a", "7bbc11"),
        ("my_shared_device", True, "my_node", "4294ea"),
        ("my_shared_device", True, "my_other_node", "4294ea"),
        ("my_local_device", False, "my_node", "e77db4"),
        ("my_local_device", False, "my_other_node", "099763"),
        ("foo0", True, "node-a", "8120fe"),
        ("foo1", True, "node-a", "a19705"),
        ("bar0", True, "node-a", "d46b65"),
        ("bar1", True, "node-a", "ab76e6"),
    ],
)
def test_device_hash_matches_upstream(device: str, shared: bool, node: str, expected: str) -> None:
    assert device_hash(DeviceId(device), shared=shared, node=NodeName(node)) == expected


def test_unshared_hash_appends_the_node_without_separator() -> None:
    unshared = device_hash(DeviceId("my_local_device"), shared=False, node=NodeName("my_node"))
    concatenated = device_hash(DeviceId("my_local_devicemy_node"), shared=True, node=NodeName("x"))
    assert unshared == concatenated == "e77db4"


@pytest.mark.parametrize(
    ("configuration", "digest", "instance", "cdi", "suffix"),
    [
        (
            "akri-debug-echo-foo",
            "8120fe",
            "akri-debug-echo-foo-8120fe",
            "akri.sh/akri-debug-echo-foo=8120fe",
            "8120FE",
        ),
        ("udev", "099763", "udev-099763", "akri.sh/udev=099763", "099763"),
        ("foo", "cb2ad7", "foo-cb2ad7", "akri.sh/foo=cb2ad7", "CB2AD7"),
    ],
)
def test_names_from_a_digest(
    configuration: str, digest: str, instance: str, cdi: str, suffix: str
) -> None:
    config = ConfigurationName(configuration)
    assert instance_name(config, digest) == instance
    assert cdi_name(config, digest) == cdi
    assert env_suffix(digest) == suffix


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [("foo-8120fe", "akri.sh/foo-8120fe"), ("foo", "akri.sh/foo")],
)
def test_resource_name(plugin: str, expected: str) -> None:
    assert resource_name(plugin) == expected
