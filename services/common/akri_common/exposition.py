"""The Prometheus text exposition format 0.0.4: metric families as one ``/metrics`` body.

A ``Family`` is what a scrape shows of one metric: its name, type, HELP text and samples. This
module only renders them, the way prometheus_client's ``generate_latest`` does, so that a scrape
reads the same as it did with that library: a counter's HELP and TYPE lines name ``<name>_total``;
label pairs are sorted by name and their values escaped (backslash, newline, double quote); HELP
text has its backslashes and newlines escaped; values are Go-style floats (``+Inf``, ``-Inf``,
``NaN``, Python's shortest ``repr`` otherwise, and an exponent where Go would use one).
Live metrics (``akri_common.prometheus``) and scrape-time collectors both produce ``Family``s
(named tuples: a frozen dataclass costs a process 1 ms of CPU more to define).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal, NamedTuple

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Kind = Literal["counter", "gauge", "histogram"]
Labels = tuple[tuple[str, str], ...]


class Sample(NamedTuple):
    """One line: the full sample name (``akri_x_total``, ``akri_y_bucket``), labels and value."""

    name: str
    labels: Labels
    value: float


class Family(NamedTuple):
    """One metric as scraped. ``name`` is the base name (a counter's without ``_total``)."""

    name: str
    kind: Kind
    documentation: str
    samples: tuple[Sample, ...]


def gauge(
    name: str,
    documentation: str,
    labels: tuple[str, ...],
    values: Mapping[tuple[str, ...], float],
) -> Family:
    """A gauge family from label values (in the order of ``labels``) to numbers."""
    return Family(
        name,
        "gauge",
        documentation,
        tuple(Sample(name, tuple(zip(labels, key, strict=True)), v) for key, v in values.items()),
    )


def counter(name: str, documentation: str, value: float) -> Family:
    """An unlabelled counter family (``<name>_total``)."""
    return Family(name, "counter", documentation, (Sample(f"{name}_total", (), value),))


def number(value: float) -> str:
    """A value or ``le`` bound as Prometheus (Go) writes floats."""
    value = float(value)
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:  # Go switches to an exponent sooner than Python
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _line(sample: Sample) -> str:
    if not sample.labels:
        return f"{sample.name} {number(sample.value)}\n"
    pairs = ",".join(f'{k}="{escape_label(v)}"' for k, v in sorted(sample.labels))
    return f"{sample.name}{{{pairs}}} {number(sample.value)}\n"


def render(families: Iterable[Family]) -> bytes:
    """The exposition of ``families``, in their order."""
    out: list[str] = []
    for family in families:
        name = f"{family.name}_total" if family.kind == "counter" else family.name
        out.append(f"# HELP {name} {escape_help(family.documentation)}\n")
        out.append(f"# TYPE {name} {family.kind}\n")
        out.extend(_line(sample) for sample in family.samples)
    return "".join(out).encode()
