"""The agent's timing knobs: documented environment variables, read once, checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from akri_agent.settings import ENV, AgentSettings, Timings, read_timings
from akri_common.settings import SettingsError

REQUIRED = {"AGENT_NODE_NAME": "n1", "DISCOVERY_HANDLERS_DIRECTORY": "/var/lib/akri"}
README = Path(__file__).resolve().parents[2] / "services" / "agent" / "README.md"


def test_defaults_and_overrides() -> None:
    assert AgentSettings.from_environment(REQUIRED).timings == Timings()
    timings = read_timings(
        {"AGENT_REGISTRATION_GRACE_SECONDS": "0.5", "AGENT_RESYNC_SECONDS": "60"}
    )
    assert timings.registration_grace == 0.5
    assert timings.resync == 60.0
    assert timings.first_list_grace == Timings().first_list_grace


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "1e9"])
def test_a_bad_value_names_the_variable_and_the_value(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        read_timings({"AGENT_FIRST_LIST_GRACE_SECONDS": value})
    assert caught.value.name == "AGENT_FIRST_LIST_GRACE_SECONDS"
    assert repr(value) in str(caught.value)


def test_every_knob_is_documented_in_the_readme() -> None:
    documented = set(re.findall(r"`(AGENT_[A-Z_]+_SECONDS)`", README.read_text()))
    assert documented == set(ENV.values())
    assert set(ENV) == set(Timings.__dataclass_fields__)
