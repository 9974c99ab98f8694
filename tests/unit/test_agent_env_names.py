"""Property names that may become a broker's environment variables, and those dropped."""

from __future__ import annotations

import pytest

from akri_agent.device_plugins.allocation import instance_allocation
from akri_agent.env_names import DEFAULT_POLICY, EnvPolicy, filter_env
from akri_agent.settings import AgentSettings
from akri_common.devices import Device
from akri_common.ids import InstanceName


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("RESOLUTION", None),
        ("_private", None),
        ("UDEV_DEVNODE_0", None),
        ("A B", "not a valid environment variable name"),
        ("a=b", "not a valid environment variable name"),
        ("1X", "not a valid environment variable name"),
        ("X\n", "not a valid environment variable name"),
        ("X\x00Y", "not a valid environment variable name"),
        ("", "not a valid environment variable name"),
        ("LD_PRELOAD", "denied (AGENT_ENV_DENY_LIST)"),
        ("LD_LIBRARY_PATH", "denied (AGENT_ENV_DENY_LIST)"),
        ("PATH", "denied (AGENT_ENV_DENY_LIST)"),
        ("PATHS", None),
    ],
)
def test_default_policy(name: str, reason: str | None) -> None:
    assert DEFAULT_POLICY.reason(name) == reason


def test_the_deny_list_is_a_setting() -> None:
    env = {"AGENT_NODE_NAME": "n", "DISCOVERY_HANDLERS_DIRECTORY": "/d"}
    assert AgentSettings.from_environment(env).env_policy == DEFAULT_POLICY
    custom = AgentSettings.from_environment({**env, "AGENT_ENV_DENY_LIST": "FOO, BAR_*"})
    assert custom.env_policy == EnvPolicy(denied=frozenset({"FOO"}), denied_prefixes=("BAR_",))
    assert custom.env_policy.reason("PATH") is None
    assert custom.env_policy.reason("BAR_X") == "denied (AGENT_ENV_DENY_LIST)"


def test_filter_env_keeps_the_rest() -> None:
    kept, dropped = filter_env({"OK": "1", "LD_PRELOAD": "/x.so", "A B": "2"})
    assert kept == {"OK": "1"}
    assert set(dropped) == {"LD_PRELOAD", "A B"}


def test_allocate_leaves_dropped_names_out_of_the_environment() -> None:
    device = Device(id="d", properties={"GOOD": "1", "LD_PRELOAD": "/evil.so", "a=b": "c"})
    allocation = instance_allocation(
        instance=InstanceName("config-abc123"),
        broker_properties={"PATH": "/evil", "ALSO_GOOD": "2", "X\nY": "3"},
        device=device,
    )
    assert allocation.envs == {
        "GOOD": "1",
        "GOOD_ABC123": "1",
        "ALSO_GOOD": "2",
        "ALSO_GOOD_ABC123": "2",
    }
