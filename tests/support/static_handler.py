"""``python -m tests.support.static_handler``: a discovery handler whose devices are its details.

A real handler process (the SDK, real gRPC, real registration) named ``staticDevices`` that
reports exactly the devices its Configuration's ``discoveryDetails`` lists, each with properties,
mounts and device nodes::

    devices:
    - id: dev-a
      properties: {STATIC_DEVICE: dev-a}
      mounts: [{containerPath: /akri/file, hostPath: /var/lib/akri/file, readOnly: true}]
      deviceSpecs: [{containerPath: /dev/akri-null, hostPath: /dev/null, permissions: rw}]

It lets a test check that what ``Allocate`` returns (env, mounts, device nodes) really reaches a
container, which none of the protocol handlers reports all at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import yaml

from akri_handler_sdk import Device, DeviceSpec, InvalidDetailsError, Mount, run

NAME = "staticDevices"


class StaticHandler:
    name = NAME
    shared = False

    def parse_details(
        self, details: str, properties: Mapping[str, bytes | None]
    ) -> tuple[Device, ...]:
        try:
            raw: Any = yaml.safe_load(details) or {}
            return tuple(
                Device(
                    id=str(d["id"]),
                    properties={str(k): str(v) for k, v in d.get("properties", {}).items()},
                    mounts=tuple(
                        Mount(str(m["containerPath"]), str(m["hostPath"]), bool(m.get("readOnly")))
                        for m in d.get("mounts", [])
                    ),
                    device_specs=tuple(
                        DeviceSpec(
                            str(s["containerPath"]),
                            str(s["hostPath"]),
                            str(s.get("permissions", "rw")),
                        )
                        for s in d.get("deviceSpecs", [])
                    ),
                )
                for d in raw["devices"]
            )
        except (yaml.YAMLError, KeyError, TypeError, AttributeError) as err:
            raise InvalidDetailsError(
                "discoveryDetails", f"not a device list: {type(err).__name__}"
            ) from err

    async def discover(
        self, details: tuple[Device, ...]
    ) -> AsyncGenerator[tuple[Device, ...], None]:
        yield details
        # The list never changes: keep the stream open until the agent closes it.
        await asyncio.Event().wait()


if __name__ == "__main__":
    run(StaticHandler())
