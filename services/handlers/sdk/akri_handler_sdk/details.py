"""Reading ``discoveryDetails``: YAML or JSON text that must hold a mapping.

Every handler starts its ``parse_details`` here, so a malformed document gets the same precise
``InvalidDetailsError`` everywhere; the handler then checks its own fields. The text is read by
the shared safe reader (:mod:`akri_common.safe_yaml`): alias explosions, deep nesting and huge
integers are refused before anything is built, so no Configuration can hang a handler.
"""

from __future__ import annotations

from akri_common import safe_yaml
from akri_handler_sdk.errors import InvalidDetailsError


def load_mapping(text: str, *, expected: str, empty_ok: bool = False) -> dict[str, object]:
    """The details as a mapping with string keys.

    ``expected`` completes "expected a mapping ..." in the error (for example "with a udevRules
    list"); with ``empty_ok`` empty details mean an empty mapping.
    """
    try:
        document = safe_yaml.load(text)
    except safe_yaml.UnsafeYamlError as err:
        raise InvalidDetailsError("discoveryDetails", f"not valid YAML or JSON ({err})") from None
    if document is None and empty_ok:
        return {}
    if not isinstance(document, dict):
        kind = "nothing" if document is None else type(document).__name__
        raise InvalidDetailsError("discoveryDetails", f"expected a mapping {expected}, got {kind}")
    return {str(key): value for key, value in document.items()}
