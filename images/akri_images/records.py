"""Build records: how long each step of a base or image build took, kept next to what it built.

Like ``testbed/build.sh``'s ``build-record.json``: ``{"component", "key", "started", "steps":
[{"step", "seconds"}], "total_seconds", "size"}``. The benchmark reads them (cold figures survive
in the cache; a warm run writes no record because it builds nothing).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Record:
    component: str
    key: str
    started: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    total_seconds: float = 0.0
    size: int = 0
    _t0: float = field(default=0.0, repr=False, compare=False)

    @classmethod
    def start(cls, *, component: str, key: str) -> Record:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(component=component, key=key, started=now, _t0=time.monotonic())

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.steps.append({"step": name, "seconds": round(time.monotonic() - began, 2)})

    def finish(self, path: Path, *, size: int) -> None:
        self.total_seconds = round(time.monotonic() - self._t0, 2)
        self.size = size
        document = {
            "component": self.component,
            "key": self.key,
            "started": self.started,
            "steps": self.steps,
            "total_seconds": self.total_seconds,
            "size": size,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Record | None:
        try:
            data = json.loads(path.read_text())
            return cls(
                component=data["component"],
                key=data["key"],
                started=data["started"],
                steps=list(data["steps"]),
                total_seconds=float(data["total_seconds"]),
                size=int(data["size"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
