"""Which reported devices the agent accepts, and the problem it reports for each one it drops."""

from __future__ import annotations

import pytest

from akri_agent.discovery.validation import MAX_ID_LENGTH, accept_devices
from akri_common.devices import Device
from akri_common.ids import DeviceId


def _device(device_id: str, **properties: str) -> Device:
    return Device(id=DeviceId(device_id), properties=properties)


@pytest.mark.parametrize(
    ("ids", "kept", "problems"),
    [
        (["a", "b"], ["a", "b"], []),
        (["a", ""], ["a"], ["device[1]: empty id"]),
        (["a", "b", "a"], ["a", "b"], ["device[2]: duplicate id 'a'"]),
        (
            ["x" * (MAX_ID_LENGTH + 1), "ok"],
            ["ok"],
            [f"device[0]: id of {MAX_ID_LENGTH + 1} characters (at most {MAX_ID_LENGTH})"],
        ),
        ([], [], []),
    ],
)
def test_accept_devices(ids: list[str], kept: list[str], problems: list[str]) -> None:
    accepted, found = accept_devices(_device(i) for i in ids)
    assert [d.id for d in accepted] == kept
    assert [str(p) for p in found] == problems


def test_property_with_empty_name_drops_the_device() -> None:
    accepted, found = accept_devices([_device("a", **{"": "v"}), _device("b")])
    assert [d.id for d in accepted] == ["b"]
    assert [str(p) for p in found] == ["device[0]: property with an empty name on id 'a'"]
