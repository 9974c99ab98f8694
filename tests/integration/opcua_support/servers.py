"""A process hosting real asyncua OPC UA servers on loopback, driven by JSON lines on stdin.

``python -m tests.integration.opcua_support.servers '<spec>'`` where the spec is a JSON list of
servers (``ServerSpec`` fields). Each server listens on ``<listen_host>:<port>`` (default
``127.0.0.1``) and advertises
``opc.tcp://<advertise_host>:<port>/<name>/`` (a host that need not resolve: upstream #555); a
``discovery`` server plays a Local Discovery Server, and a server with ``register_to`` registers
with that LDS when it starts (re-registering every ``register_period`` seconds). Every server has
one Int32 variable ``ns=2;s=<variable>``.

Commands (one JSON object per line on stdin): ``{"op": "start"|"stop", "name": ...}`` and
``{"op": "set", "name": ..., "value": n}``. Events (JSON lines on stdout): ``ready`` once every
initially started server listens, then ``started``/``stopped``/``set`` with ``at`` =
``time.monotonic()`` (one clock for every process on the machine). A server is initialised (the
slow part: about 1.5 s) before it is started, so that ``started`` marks when it begins to listen.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.server.server import Server
from cryptography.x509.oid import ExtendedKeyUsageOID

NAMESPACE = "urn:akri-py:tests"


@dataclass(frozen=True)
class ServerSpec:
    name: str
    port: int
    application_name: str = ""
    application_uri: str = ""
    kind: str = "server"  # or "discovery"
    advertise_host: str = "127.0.0.1"
    listen_host: str = "127.0.0.1"
    register_to: str | None = None
    register_period: int = 60
    variable: str = "FastUInt1"
    value: int = 0
    started: bool = True
    #: Offer only Basic256Sha256 with SignAndEncrypt (a certificate made in ``certificates``).
    secure: bool = False
    certificates: str = ""

    @property
    def url(self) -> str:
        return f"opc.tcp://{self.advertise_host}:{self.port}/{self.name}/"


class Hosted:
    """One spec, its prepared (initialised, not listening) or running asyncua server."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.server: Server | None = None
        self.running = False
        self.value = spec.value
        self.node: Any = None

    async def prepare(self) -> None:
        spec = self.spec
        server = Server()
        await server.init()
        server.set_endpoint(spec.url)
        server.socket_address = (spec.listen_host, spec.port)
        server.set_server_name(spec.application_name or spec.name)
        await server.set_application_uri(spec.application_uri or f"urn:akri-py:tests:{spec.name}")
        server.product_uri = "urn:akri-py:tests:product"
        if spec.secure:
            directory = Path(spec.certificates)
            key, certificate = directory / f"{spec.name}-key.pem", directory / f"{spec.name}.der"
            await setup_self_signed_certificate(
                key,
                certificate,
                spec.application_uri or f"urn:akri-py:tests:{spec.name}",
                "localhost",
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
                {"commonName": spec.name},
            )
            await server.load_certificate(str(certificate))
            await server.load_private_key(str(key))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.application_type = (
            ua.ApplicationType.DiscoveryServer
            if spec.kind == "discovery"
            else ua.ApplicationType.Server
        )
        index = await server.register_namespace(NAMESPACE)
        assert index == 2, index
        self.node = await server.nodes.objects.add_variable(
            ua.NodeId.from_string(f"ns={index};s={spec.variable}"),
            spec.variable,
            ua.Variant(self.value, ua.VariantType.Int32),
        )
        self.server = server

    async def start(self) -> None:
        if self.server is None:
            await self.prepare()
        assert self.server is not None
        await self.node.write_value(ua.Variant(self.value, ua.VariantType.Int32))
        await self.server.start()
        self.running = True
        if self.spec.register_to:
            await self.server.register_to_discovery(
                self.spec.register_to, period=self.spec.register_period
            )

    async def stop(self) -> None:
        if self.server is not None and self.running:
            await self.server.stop()
        self.server = None
        self.running = False

    async def set(self, value: int) -> None:
        self.value = value
        if self.server is not None:
            await self.node.write_value(ua.Variant(value, ua.VariantType.Int32))


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "at": time.monotonic(), **fields}), flush=True)


async def main(specs: list[ServerSpec]) -> None:
    hosted = {spec.name: Hosted(spec) for spec in specs}
    # Discovery servers first: the others register with them when they start.
    order = sorted(hosted.values(), key=lambda h: h.spec.kind != "discovery")
    for item in order:
        await item.prepare()
        if item.spec.started:
            await item.start()
    emit("ready", ports={name: h.spec.port for name, h in hosted.items()})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            command = json.loads(line)
            item = hosted[command["name"]]
            if command["op"] == "start":
                await item.start()
                emit("started", name=item.spec.name)
            elif command["op"] == "stop":
                await item.stop()
                emit("stopped", name=item.spec.name)
                await item.prepare()  # ready for a fast start
            elif command["op"] == "set":
                await item.set(int(command["value"]))
                emit("set", name=item.spec.name, value=item.value)
    finally:
        # All at once: the test's teardown waits for this.
        await asyncio.gather(*(item.stop() for item in hosted.values()))


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main([ServerSpec(**spec) for spec in json.loads(sys.argv[1])]))
