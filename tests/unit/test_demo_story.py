"""The demo's pure decisions: what a step waits for, and the device env read inside a broker."""

from __future__ import annotations

from typing import Any

import pytest

from demo.screen import Snapshot, render
from demo.story import Expect, debug_echo, parse_env

BOTH = ["testbed-node-1", "testbed-node-2"]


def _instance(name: str, nodes: list[str], **properties: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"nodes": nodes, "brokerProperties": properties, "capacity": 1},
    }


def _pod(name: str, phase: str = "Running", *, app: str = "", node: str = "n") -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": app} if app else {}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"nodeName": node},
        "status": {"phase": phase},
    }


def _snapshot(
    *,
    brokers: list[dict[str, Any]],
    env: dict[str, str],
    parts: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> Snapshot:
    return Snapshot(
        instances=[_instance("akri-debug-echo-8120fe", BOTH, DEBUG_ECHO_DESCRIPTION="foo0")],
        nodes=[],
        pods=brokers,
        services=[{"metadata": {"name": "s"}, "spec": {"clusterIP": "10.96.0.9"}}],
        broker_env=env,
        parts=parts,
    )


EXPECT = Expect(debug_echo("foo0", nodes=BOTH), brokers=1, services=1, parts={"agent": BOTH})
AGENTS = [_pod("a1", app="agent", node=BOTH[0]), _pod("a2", app="agent", node=BOTH[1])]


@pytest.mark.parametrize(
    ("brokers", "env", "parts", "met"),
    [
        ([_pod("b")], {"b": "DEBUG_ECHO_DESCRIPTION=foo0"}, AGENTS, True),
        ([_pod("b", "Pending")], {"b": "DEBUG_ECHO_DESCRIPTION=foo0"}, AGENTS, False),
        ([_pod("b")], {}, AGENTS, False),  # Running, but its env not seen inside yet
        ([_pod("b")], {"b": "DEBUG_ECHO_DESCRIPTION=foo0"}, AGENTS[:1], False),
        ([_pod("b"), _pod("c", "Pending")], {"b": "DEBUG_ECHO_DESCRIPTION=foo0"}, AGENTS, False),
    ],
)
def test_a_step_is_met_only_when_everything_it_names_is_seen(
    brokers: list[dict[str, Any]], env: dict[str, str], parts: list[dict[str, Any]], met: bool
) -> None:
    assert EXPECT.met(_snapshot(brokers=brokers, env=env, parts=parts)) is met


def test_a_terminating_broker_does_not_count_as_running() -> None:
    pod = _pod("b")
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert not EXPECT.met(_snapshot(brokers=[pod], env={"b": "x"}, parts=AGENTS))


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        ("PATH=/bin\nDEBUG_ECHO_DESCRIPTION=foo0\nHOME=/\n", "DEBUG_ECHO_DESCRIPTION=foo0"),
        (
            "ONVIF_DEVICE_IP_ADDRESS=10.200.0.100\nDEBUG_ECHO_DESCRIPTION=onvif camera\n",
            "DEBUG_ECHO_DESCRIPTION=onvif camera ONVIF_DEVICE_IP_ADDRESS=10.200.0.100",
        ),
        ("PATH=/bin\nnot a variable\n", ""),
    ],
)
def test_the_device_env_is_read_from_env_output(env: str, shown: str) -> None:
    assert parse_env(env) == shown


def test_the_screen_shows_devices_nodes_and_the_env_inside_brokers() -> None:
    brokers = [_pod("akri-debug-echo-8120fe-pod", node=BOTH[0])]
    text = render(
        _snapshot(
            brokers=brokers, env={"akri-debug-echo-8120fe-pod": "DEBUG_ECHO_DESCRIPTION=foo0"}
        ),
        title="t",
        step="s",
    )
    assert "nodes=testbed-node-1,testbed-node-2" in text
    assert "device DEBUG_ECHO_DESCRIPTION=foo0" in text
    assert "akri-debug-echo-8120fe-pod" in text
    assert "Running" in text
    assert "10.96.0.9" in text


def test_an_uninstalled_step_waits_for_akri_pods_to_be_gone() -> None:
    gone = Expect({}, brokers=0, services=0, only_parts=True)
    terminating = _pod("a1", app="agent")
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    empty = Snapshot(instances=[], nodes=[], pods=[], services=[], broker_env={})
    assert gone.met(empty)
    assert not gone.met(
        Snapshot(instances=[], nodes=[], pods=[], services=[], broker_env={}, parts=[terminating])
    )
