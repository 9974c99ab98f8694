"""A discovery handler for tests, run as a real process with the SDK: devices from a JSON file.

``python -m tests.support.file_handler`` serves handler ``$FILE_HANDLER_NAME`` (default ``file``,
not shared) and reports the devices in ``$FILE_HANDLER_DEVICES``, a JSON list of
``{"id", "properties", "mounts": [{"container_path", "host_path"}]}``, again after every change
of the file. ``discoveryDetails`` is a list of ids to report (empty: every device); details
``fail`` make ``Discover`` raise (the agent sees gRPC ``UNKNOWN``, as from a handler's bug).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from typing import Any

from akri_handler_sdk import Device, Mount, file_changes, run


class FileHandler:
    def __init__(self, *, name: str, path: Path) -> None:
        self.name = name
        self.shared = False
        self.path = path

    def parse_details(self, details: str, properties: Mapping[str, bytes | None]) -> list[str]:
        if details.strip() == "fail":
            raise RuntimeError("this handler cannot serve these details")
        return [line.strip() for line in details.split(",") if line.strip()]

    async def discover(self, details: list[str]) -> AsyncGenerator[tuple[Device, ...], None]:
        changes = file_changes(self.path)
        async with contextlib.aclosing(changes):
            async for _ in changes:
                yield tuple(d for d in self._read() if not details or d.id in details)

    def _read(self) -> list[Device]:
        try:
            raw: list[dict[str, Any]] = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        return [
            Device(
                id=str(item["id"]),
                properties={str(k): str(v) for k, v in (item.get("properties") or {}).items()},
                mounts=tuple(
                    Mount(container_path=m["container_path"], host_path=m["host_path"])
                    for m in item.get("mounts") or ()
                ),
            )
            for item in raw
        ]


def write_devices(path: Path, devices: list[dict[str, Any]]) -> None:
    """Replaces the device file in one step (the handler never reads half a file)."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(devices))
    partial.replace(path)


if __name__ == "__main__":
    run(
        FileHandler(
            name=os.environ.get("FILE_HANDLER_NAME", "file"),
            path=Path(os.environ["FILE_HANDLER_DEVICES"]),
        )
    )
