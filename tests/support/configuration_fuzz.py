"""Generated Configurations, hostile and careless, for fuzz tests of every reader of user input.

``mutations(seed, count)`` yields ``count`` documents as bytes, deterministically for a seed: the
sample Configurations of ``tests/data/webhook`` with one field replaced by a hostile or careless
value (huge, negative or wrong-typed numbers, names Kubernetes would refuse, NUL and newlines,
deep nesting, alias explosions inside ``discoveryDetails``), with a key dropped, or with their
text broken (cut short, a byte flipped, bytes that are not UTF-8, YAML nested 3,000 deep, an
integer of 5,000 digits, a billion-laughs block, several documents). ``as_object`` parses one
back for the webhook (None when the text is no single mapping).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from akri_common import safe_yaml

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "webhook"
SAMPLE_NAMES = ("debug-echo", "udev", "onvif")
BILLION_LAUGHS = "a0: &a0 [lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)

VALUES: tuple[Any, ...] = (
    -1,
    0,
    1_000_000,
    9223372036854775807,
    -9223372036854775808,
    2**64,
    1.5,
    float("inf"),
    True,
    None,
    "",
    "UPPER-case",
    "a" * 64,
    "b" * 300,
    "x" * 20_000,
    "nul\x00inside",
    "new\nline",
    "../../etc/passwd",
    "é ü 日本",
    [],
    [1, "two", None],
    {},
    {"a": {"b": {"c": [1, 2, 3]}}},
    "descriptions: " + "[" * 200 + "]" * 200,
    BILLION_LAUGHS,
    "udevRules: ['DEVPATH!=\".*.*.*.*.*.*.*.*Q\"']",
    "udevRules: ['KERNEL==\"video0\"']\npermissions: rwx",
    "descriptions: [foo, 1]",
    "ipAddresses: {action: Drop, items: [1]}",
)
PATHS: tuple[tuple[str, ...], ...] = (
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata",),
    ("spec",),
    ("spec", "capacity"),
    ("spec", "discoveryHandler"),
    ("spec", "discoveryHandler", "name"),
    ("spec", "discoveryHandler", "discoveryDetails"),
    ("spec", "discoveryHandler", "discoveryProperties"),
    ("spec", "brokerProperties"),
    ("spec", "brokerProperties", "A B"),
    ("spec", "brokerSpec"),
    ("spec", "instanceServiceSpec"),
    ("apiVersion",),
    ("kind",),
)


def samples() -> list[dict[str, Any]]:
    return [
        yaml.safe_load((SAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
        for name in SAMPLE_NAMES
    ]


def mutations(seed: int, count: int) -> Iterator[bytes]:
    """``count`` mutated Configurations, the same ones for the same ``seed``."""
    rng = random.Random(seed)
    bases = samples()
    steps: list[Callable[[random.Random, dict[str, Any]], bytes]] = [
        _replace,
        _replace,
        _replace,
        _drop,
        _cut,
        _flip,
        _not_utf8,
        _deep,
        _long_integer,
        _laughs,
        _documents,
        _unchanged,
    ]
    for _ in range(count):
        base = copy.deepcopy(rng.choice(bases))
        yield rng.choice(steps)(rng, base)


def as_object(text: bytes) -> Any:
    """The document as the API server would hold it (JSON-like), or None if it is none (or is
    YAML no client would turn into JSON: an alias explosion, nesting past the C stack)."""
    try:
        documents = safe_yaml.load_all(text, limits=safe_yaml.Limits(max_depth=1000))
    except safe_yaml.UnsafeYamlError:
        return None
    return documents[0] if len(documents) == 1 and isinstance(documents[0], dict) else None


def _dump(document: Any) -> bytes:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target: Any = document
    for key in path[:-1]:
        if not isinstance(target, dict):
            return
        target = target.setdefault(key, {})
    if isinstance(target, dict):
        target[path[-1]] = value


def _replace(rng: random.Random, document: dict[str, Any]) -> bytes:
    _set(document, rng.choice(PATHS), copy.deepcopy(rng.choice(VALUES)))
    return _dump(document)


def _drop(rng: random.Random, document: dict[str, Any]) -> bytes:
    path = rng.choice(PATHS)
    target: Any = document
    for key in path[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if isinstance(target, dict):
        target.pop(path[-1], None)
    return _dump(document)


def _cut(rng: random.Random, document: dict[str, Any]) -> bytes:
    text = _dump(document)
    return text[: rng.randrange(len(text))]


def _flip(rng: random.Random, document: dict[str, Any]) -> bytes:
    text = bytearray(_dump(document))
    for _ in range(rng.randint(1, 4)):
        text[rng.randrange(len(text))] = rng.randrange(256)
    return bytes(text)


def _not_utf8(rng: random.Random, document: dict[str, Any]) -> bytes:
    text = _dump(document)
    at = rng.randrange(len(text))
    return text[:at] + b"\xff\xfe\xc3" + text[at:]


def _deep(rng: random.Random, document: dict[str, Any]) -> bytes:
    depth = rng.choice((100, 1000, 3000))
    _set(document, rng.choice(PATHS), "@DEEP@")
    return _dump(document).replace(b"'@DEEP@'", b"[" * depth + b"]" * depth)


def _long_integer(rng: random.Random, document: dict[str, Any]) -> bytes:
    _set(document, rng.choice(PATHS), "@INT@")
    return _dump(document).replace(b"'@INT@'", b"9" * rng.choice((4301, 5000, 50_000)))


def _laughs(rng: random.Random, document: dict[str, Any]) -> bytes:
    _set(document, ("spec", "brokerProperties"), "@LAUGHS@")
    laughs = (
        "{" + ", ".join(line.replace(": ", ": ", 1) for line in BILLION_LAUGHS.splitlines()) + "}"
    )
    return _dump(document).replace(b"'@LAUGHS@'", laughs.encode())


def _documents(rng: random.Random, document: dict[str, Any]) -> bytes:
    return _dump(document) + b"---\n" + _dump(document)


def _unchanged(rng: random.Random, document: dict[str, Any]) -> bytes:
    return _dump(document)
