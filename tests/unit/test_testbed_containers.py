"""The container testbed's pure parts: network plumbing, node configuration, names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from akri_testbed import containernode, netns, registry
from akri_testbed.forward import parse_pair


def test_plumbing_never_creates_a_link_in_the_root_namespace() -> None:
    network = netns.Network("abcd1234", 2)
    commands = netns.plumbing(network)
    for command in commands:
        if command[:2] == ["ip", "netns"]:
            continue
        if command[0] == "nsenter":
            assert command[1].startswith("--net=/run/netns/akri-abcd1234")
            continue
        # Every `ip` command names the namespace it acts in.
        assert command[:2] == ["ip", "-n"], command
        if "veth" in command:
            assert command[command.index("netns") + 1] in network.namespaces


def test_plumbing_routes_each_pod_subnet_through_its_node() -> None:
    commands = netns.plumbing(netns.Network("abcd1234", 3))
    routes = {tuple(c) for c in commands if c[3:5] == ["route", "add"]}
    assert (
        "ip",
        "-n",
        "akri-abcd1234",
        "route",
        "add",
        "10.244.2.0/24",
        "via",
        "10.200.0.12",
    ) in routes
    assert (
        "ip",
        "-n",
        "akri-abcd1234-n1",
        "route",
        "add",
        "10.244.3.0/24",
        "via",
        "10.200.0.13",
    ) in routes
    assert (
        "ip",
        "-n",
        "akri-abcd1234-n1",
        "route",
        "add",
        "10.244.1.0/24",
        "via",
        "10.200.0.11",
    ) not in routes


def test_testbed_id_is_stable_per_directory() -> None:
    assert netns.testbed_id(Path("/tmp/a")) == netns.testbed_id(Path("/tmp/a"))
    assert netns.testbed_id(Path("/tmp/a")) != netns.testbed_id(Path("/tmp/b"))
    # Link names stay short (IFNAMSIZ) however many nodes: they are per-namespace, not per-testbed.
    links = {
        c[c.index("add") + 1]
        for c in netns.plumbing(netns.Network("abcd1234", 99))
        if c[3:5] == ["link", "add"]
    }
    assert max(len(name) for name in links) <= 15


def _node(tmp_path: Path) -> containernode.ContainerNode:
    return containernode.ContainerNode("testbed-node-2", 2, "abcd1234", tmp_path / "n2")


def test_host_path_maps_standard_paths_to_the_node_directory(tmp_path: Path) -> None:
    node = _node(tmp_path)
    assert node.host_path("/var/lib/kubelet/device-plugins") == (
        tmp_path / "n2" / "var-lib-kubelet" / "device-plugins"
    )
    assert node.host_path("/var/lib/akri") == tmp_path / "n2" / "var-lib-akri"
    with pytest.raises(ValueError, match="/etc/passwd"):
        node.host_path("/etc/passwd")
    # A prefix that is not a path component is not the node's directory.
    with pytest.raises(ValueError, match="kubelet2"):
        node.host_path("/var/lib/kubelet2")


def test_kubelet_config_keeps_the_node_to_itself(tmp_path: Path) -> None:
    config = containernode.kubelet_config(_node(tmp_path))
    assert config["cgroupRoot"] == "/akri-abcd1234-n2"
    assert config["address"] == "10.200.0.12"
    assert config["failCgroupV1"] is False
    assert config["authentication"]["anonymous"]["enabled"] is False  # type: ignore[index]


def test_cni_config_gives_the_node_its_pod_subnet(tmp_path: Path) -> None:
    config = containernode.cni_config(_node(tmp_path))
    bridge = config["plugins"][0]  # type: ignore[index]
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.244.2.0/24"}]]
    json.dumps(config)


def test_kube_proxy_leaves_machine_wide_conntrack_settings_alone(tmp_path: Path) -> None:
    config = containernode.kube_proxy_config(_node(tmp_path))
    assert config["conntrack"] == {
        "maxPerCore": 0,
        "min": 0,
        "tcpEstablishedTimeout": "0s",
        "tcpCloseWaitTimeout": "0s",
    }


def test_registry_hosts_allow_only_the_testbed_registry() -> None:
    text = containernode.registry_hosts("10.200.0.1:5000")
    assert 'server = "http://10.200.0.1:5000"' in text
    assert text.count("http://") == 2


@pytest.mark.parametrize(
    ("reference", "path"),
    [
        ("akri-py/agent:0.1.0", "akri-py/agent:0.1.0"),
        ("ghcr.io/akri-py/agent:0.1.0", "akri-py/agent:0.1.0"),
        ("registry.k8s.io/pause:3.10", "pause:3.10"),
        ("localhost/x:1", "x:1"),
        ("127.0.0.1:5000/x:1", "x:1"),
    ],
)
def test_repository_path_drops_the_registry_host(reference: str, path: str) -> None:
    assert registry.repository_path(reference) == path


def test_forward_pairs_parse() -> None:
    assert parse_pair("127.0.0.1:6443=10.200.0.1:6444") == (
        ("127.0.0.1", 6443),
        ("10.200.0.1", 6444),
    )
    with pytest.raises(ValueError, match="LISTEN=TARGET"):
        parse_pair("127.0.0.1:6443")
