"""Camera credentials from ``discoveryProperties``, in the four forms upstream accepts.

Later forms overwrite earlier ones for the same uuid:

1. ``device_credential_list``: a JSON array of property names; each named property is JSON
   ``{"<uuid>": {"username": "...", "password": "...", "base64encoded": false}}``.
2. ``device_credential_ref_list``: a JSON array of property names; each named property is JSON
   ``{"<uuid>": {"username_ref": "<property>", "password_ref": "<property>"}}``.
3. ``username_<uuid with underscores>`` / ``password_<uuid with underscores>`` pairs.
4. ``username_default`` / ``password_default``: the credential for every other camera.

A password is never shown: ``Credential``'s repr hides it, and errors name properties, never values.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from akri_handler_sdk import InvalidDetailsError

CREDENTIAL_LIST = "device_credential_list"
CREDENTIAL_REF_LIST = "device_credential_ref_list"
USERNAME_PREFIX = "username_"
PASSWORD_PREFIX = "password_"  # noqa: S105 - a property-name prefix
DEFAULT_KEY = "default"

Properties = Mapping[str, bytes | None]


@dataclass(frozen=True)
class Credential:
    """A username and password for one camera (the password never appears in a repr)."""

    username: str
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class CredentialStore:
    """Credentials by lower-case uuid, with the ``default`` one as the fallback."""

    by_uuid: Mapping[str, Credential] = field(default_factory=lambda: MappingProxyType({}))

    def for_uuid(self, uuid: str) -> Credential | None:
        """The camera's own credential, else the default one, else None."""
        return self.by_uuid.get(uuid.lower(), self.by_uuid.get(DEFAULT_KEY))

    def name_for(self, uuid: str) -> str | None:
        """Which credential ``for_uuid`` picks, by name (the uuid or ``default``), never its value."""
        if uuid.lower() in self.by_uuid:
            return uuid.lower()
        return DEFAULT_KEY if DEFAULT_KEY in self.by_uuid else None

    def __repr__(self) -> str:
        return f"CredentialStore(uuids={sorted(self.by_uuid)})"


def parse_credentials(properties: Properties) -> CredentialStore:
    """Reads every form; raises ``InvalidDetailsError`` naming a property (never its value)."""
    found: dict[str, Credential] = {}
    for name in _name_list(properties, CREDENTIAL_LIST):
        for uuid, entry in _uuid_map(properties, name).items():
            found[uuid] = _from_entry(name, entry)
    for name in _name_list(properties, CREDENTIAL_REF_LIST):
        for uuid, entry in _uuid_map(properties, name).items():
            found[uuid] = _from_refs(properties, name, entry)
    found.update(_from_pairs(properties))
    return CredentialStore(by_uuid=MappingProxyType(found))


def _text(properties: Properties, name: str) -> str | None:
    value = properties.get(name)
    if value is None:
        return None
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise InvalidDetailsError(name, "is not UTF-8 text") from None


def _json(properties: Properties, name: str) -> Any:
    text = _text(properties, name)
    if text is None:
        raise InvalidDetailsError(name, "is missing or has no value")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise InvalidDetailsError(name, "is not valid JSON") from None


def _name_list(properties: Properties, name: str) -> list[str]:
    if name not in properties:
        return []
    names = _json(properties, name)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidDetailsError(name, "expected a JSON array of property names")
    return names


def _uuid_map(properties: Properties, name: str) -> dict[str, Any]:
    document = _json(properties, name)
    if not isinstance(document, dict):
        raise InvalidDetailsError(name, "expected a JSON object keyed by device uuid")
    return {str(uuid).lower(): entry for uuid, entry in document.items()}


def _from_entry(name: str, entry: Any) -> Credential:
    if not isinstance(entry, dict) or not isinstance(entry.get("username"), str):
        raise InvalidDetailsError(name, "each entry needs a string username")
    password = entry.get("password") or ""
    if not isinstance(password, str):
        raise InvalidDetailsError(name, "a password must be a string")
    if entry.get("base64encoded") is True:
        try:
            password = base64.b64decode(password, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidDetailsError(
                name, "a base64encoded password is not valid base64"
            ) from None
    return Credential(username=entry["username"], password=password)


def _from_refs(properties: Properties, name: str, entry: Any) -> Credential:
    if not isinstance(entry, dict) or not isinstance(entry.get("username_ref"), str):
        raise InvalidDetailsError(name, "each entry needs a string username_ref")
    username = _referenced(properties, name, entry["username_ref"])
    password_ref = entry.get("password_ref")
    if password_ref is not None and not isinstance(password_ref, str):
        raise InvalidDetailsError(name, "a password_ref must be a property name")
    password = "" if password_ref is None else _referenced(properties, name, password_ref)
    return Credential(username=username, password=password)


def _referenced(properties: Properties, name: str, ref: str) -> str:
    if ref not in properties:
        raise InvalidDetailsError(name, f"refers to property {ref!r}, which is missing")
    return _text(properties, ref) or ""


def _from_pairs(properties: Properties) -> dict[str, Credential]:
    """``username_<id>``/``password_<id>`` pairs, ``default`` included; ids get dashes back."""
    found: dict[str, Credential] = {}
    for name in properties:
        if not name.startswith(USERNAME_PREFIX):
            continue
        suffix = name.removeprefix(USERNAME_PREFIX)
        username = _text(properties, name)
        if username is None:
            continue
        password = _text(properties, PASSWORD_PREFIX + suffix) or ""
        found[suffix.replace("_", "-").lower()] = Credential(username=username, password=password)
    return found
