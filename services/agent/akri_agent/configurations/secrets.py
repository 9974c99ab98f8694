"""Resolving ``valueFrom`` discovery properties from Secrets and ConfigMaps in the API server.

Values are never logged; errors name the Secret or ConfigMap and the key, never the content.
"""

from __future__ import annotations

import base64
import binascii

from akri_agent.discovery.properties import KeyRefError, KeyRefLookup, KeyRefMissingError
from akri_common.crds.configuration import KeyRef
from akri_common.k8s.errors import ApiError, NotFoundError
from akri_common.k8s.objects import CONFIG_MAP, SECRET, Objects


def api_lookup(objects: Objects) -> KeyRefLookup:
    """A ``KeyRefLookup`` that reads Secrets and ConfigMaps through ``objects``."""

    async def lookup(ref: KeyRef) -> bytes:
        kind = SECRET if ref.kind == "secret" else CONFIG_MAP
        where = f"{ref.kind} {ref.namespace}/{ref.name}"
        missing = f"{where} (key {ref.key!r}) does not exist"
        try:
            obj = await objects.get(kind, namespace=ref.namespace, name=ref.name)
        except NotFoundError as err:
            raise KeyRefMissingError(missing) from err
        except ApiError as err:
            raise KeyRefError(f"cannot read {where}: {err}", retryable=True) from err
        if ref.kind == "secret":
            encoded = (obj.get("data") or {}).get(ref.key)
            if encoded is None:
                raise KeyRefMissingError(f"{where} has no key {ref.key!r}")
            try:
                return base64.b64decode(encoded, validate=True)
            except binascii.Error as err:
                raise KeyRefError(
                    f"{where} key {ref.key!r} is not base64", retryable=False
                ) from err
        text = (obj.get("data") or {}).get(ref.key)
        if text is not None:
            return str(text).encode()
        binary = (obj.get("binaryData") or {}).get(ref.key)
        if binary is None:
            raise KeyRefMissingError(f"{where} has no key {ref.key!r}")
        return base64.b64decode(binary)

    return lookup
