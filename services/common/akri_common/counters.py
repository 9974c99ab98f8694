"""Labelled counters in the Prometheus text format, for processes that cannot afford
prometheus_client (importing it costs a discovery handler about 3.4 MiB of its 24 MiB).

A ``Counters`` registry holds ``CounterFamily`` objects; ``render()`` is the text exposition
format 0.0.4 (``# HELP``, ``# TYPE <name> counter``, one ``<name>_total{label="value"} n`` line per
label set), which ``MetricsServer`` serves as ``/metrics``. Label values are escaped as the format
requires and a family holds at most ``MAX_SERIES`` label sets (values come from a program's own
enums, but a bound keeps a mistake from growing without end).
"""

from __future__ import annotations

import threading

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_SERIES = 256


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class CounterFamily:
    """A counter ``<name>_total`` with the label names ``labels``."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Adds ``amount`` to the series of ``labels`` (every label name, none other)."""
        if amount < 0:
            raise ValueError(f"a counter only goes up (amount={amount!r})")
        if set(labels) != set(self.labels):
            raise ValueError(f"{self.name} has the labels {self.labels}, not {tuple(labels)}")
        key = tuple(str(labels[name]) for name in self.labels)
        with self._lock:
            if key not in self._values and len(self._values) >= MAX_SERIES:
                return
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(str(labels[name]) for name in self.labels), 0.0)

    def render(self) -> str:
        doc = self.documentation.replace("\\", "\\\\").replace("\n", "\\n")
        lines = [f"# HELP {self.name}_total {doc}", f"# TYPE {self.name}_total counter"]
        with self._lock:
            series = sorted(self._values.items())
        for key, value in series:
            pairs = ",".join(
                f'{name}="{_escape(label)}"' for name, label in zip(self.labels, key, strict=True)
            )
            lines.append(f"{self.name}_total{{{pairs}}} {value!r}")
        return "\n".join(lines) + "\n"


class Counters:
    """A registry of counter families; ``render`` is the whole ``/metrics`` body."""

    def __init__(self) -> None:
        self._families: dict[str, CounterFamily] = {}

    def counter(self, name: str, documentation: str, labels: tuple[str, ...]) -> CounterFamily:
        if name in self._families:
            raise ValueError(f"counter {name!r} is registered already")
        family = CounterFamily(name, documentation, labels)
        self._families[name] = family
        return family

    def render(self) -> bytes:
        return "".join(f.render() for f in self._families.values()).encode()
