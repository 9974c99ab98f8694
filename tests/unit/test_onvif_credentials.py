"""Credentials in upstream's four forms; precedence; and no password in any repr or error."""

from __future__ import annotations

import base64
import json

import pytest

from akri_handler_sdk import InvalidDetailsError
from akri_onvif.credentials import Credential, parse_credentials

UUID = "5A6B7C8D-0000-4000-8000-0000000000AA"
LOWER = UUID.lower()
SECRET = "s3cr3t-value"


def props(**values: object) -> dict[str, bytes | None]:
    return {
        name: None
        if value is None
        else (value if isinstance(value, str) else json.dumps(value)).encode()
        for name, value in values.items()
    }


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({}, None),
        (
            props(device_credential_list=["a"], a={UUID: {"username": "u", "password": SECRET}}),
            Credential("u", SECRET),
        ),
        (
            props(
                device_credential_list=["a"],
                a={
                    LOWER: {
                        "username": "u",
                        "password": base64.b64encode(SECRET.encode()).decode(),
                        "base64encoded": True,
                    }
                },
            ),
            Credential("u", SECRET),
        ),
        (props(device_credential_list=["a"], a={LOWER: {"username": "u"}}), Credential("u", "")),
        (
            props(
                device_credential_ref_list=["r"],
                r={LOWER: {"username_ref": "ru", "password_ref": "rp"}},
                ru="u",
                rp=SECRET,
            ),
            Credential("u", SECRET),
        ),
        (
            props(
                **{
                    f"username_{LOWER.replace('-', '_')}": "u",
                    f"password_{LOWER.replace('-', '_')}": SECRET,
                }
            ),
            Credential("u", SECRET),
        ),
        (props(username_default="d", password_default=SECRET), Credential("d", SECRET)),
        # Later forms overwrite earlier ones: the pair beats the list.
        (
            props(
                device_credential_list=["a"],
                a={LOWER: {"username": "list", "password": "x"}},
                **{
                    f"username_{LOWER.replace('-', '_')}": "pair",
                    f"password_{LOWER.replace('-', '_')}": SECRET,
                },
            ),
            Credential("pair", SECRET),
        ),
        # An exact uuid beats the default.
        (
            props(
                username_default="d",
                password_default="x",
                device_credential_list=["a"],
                a={LOWER: {"username": "u", "password": SECRET}},
            ),
            Credential("u", SECRET),
        ),
        (props(device_credential_list=["a"], a={"other": {"username": "u"}}), None),
    ],
)
def test_lookup(properties: dict[str, bytes | None], expected: Credential | None) -> None:
    assert parse_credentials(properties).for_uuid(UUID) == expected


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        (props(device_credential_list="not json"), "device_credential_list"),
        (props(device_credential_list={"a": 1}), "device_credential_list"),
        (props(device_credential_list=["missing"]), "missing"),
        (props(device_credential_list=["a"], a=f'{{"{LOWER}": {{"password": "{SECRET}"}}}}'), "a"),
        (
            props(
                device_credential_list=["a"],
                a={LOWER: {"username": "u", "password": SECRET + "!", "base64encoded": True}},
            ),
            "a",
        ),
        (props(device_credential_ref_list=["r"], r={LOWER: {"username_ref": "nope"}}), "r"),
        (props(device_credential_list=["a"], a=f"{{{SECRET}"), "a"),
    ],
)
def test_errors_name_the_property_never_the_secret(
    properties: dict[str, bytes | None], field: str
) -> None:
    with pytest.raises(InvalidDetailsError) as caught:
        parse_credentials(properties)
    assert caught.value.field == field
    assert SECRET not in str(caught.value)


def test_reprs_never_show_a_password() -> None:
    store = parse_credentials(props(username_default="d", password_default=SECRET))
    assert SECRET not in repr(store)
    assert SECRET not in repr(store.for_uuid("x"))
    assert SECRET not in str(Credential("u", SECRET))
