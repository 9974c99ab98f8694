"""What a device plugin's gRPC server and kubelet's connection to it cost; run as a script by the
footprint benchmark, with the runtime interpreter.

``python grpc_probe.py <count>`` starts ``count`` ``grpc.aio`` servers on Unix sockets (one per
device plugin, as the agent serves them), measures the process, then starts a client process that
opens one channel and one server stream per socket (as kubelet holds a ``ListAndWatch`` stream on
each plugin), and measures again. Prints one JSON line: resident and anonymous MiB, threads and
malloc arenas at each step. ``options`` (JSON pairs) are passed to every server.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).parent))
from footprint_probe import process_figures  # type: ignore[import-not-found]

SERVICE = "bench.Plugin"
CLIENT_TIMEOUT = 60.0


def _handler() -> grpc.GenericRpcHandler:
    async def watch(_request: bytes, _context: grpc.aio.ServicerContext) -> object:
        yield b"d" * 200  # one device list
        await asyncio.Event().wait()  # then nothing changes

    return grpc.method_handlers_generic_handler(
        SERVICE, {"Watch": grpc.unary_stream_rpc_method_handler(watch)}
    )


def _figures() -> dict[str, float]:
    found = process_figures(os.getpid())
    return {key: found[key] for key in ("rss_mib", "anon_mib", "threads", "arenas", "arena_mib")}


async def serve(count: int, options: list[tuple[str, int]]) -> dict[str, object]:
    directory = Path(tempfile.mkdtemp(prefix="akri-grpc-", dir="/tmp"))
    servers = []
    try:
        before = _figures()
        for index in range(count):
            server = grpc.aio.server(options=options)
            server.add_generic_rpc_handlers((_handler(),))
            server.add_insecure_port(f"unix://{directory}/p{index}.sock")
            await server.start()
            servers.append(server)
        served = _figures()
        client = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "client",
            str(count),
            str(directory),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert client.stdout is not None
            line = await asyncio.wait_for(client.stdout.readline(), CLIENT_TIMEOUT)
            assert line.strip() == b"streaming", line
            await asyncio.sleep(0.5)  # wait-ok: let the servers' reads settle before measuring
            connected = _figures()
        finally:
            client.kill()
            await client.wait()
        return {"count": count, "before": before, "servers": served, "streams": connected}
    finally:
        for server in servers:
            await server.stop(0)
        shutil.rmtree(directory, ignore_errors=True)


async def client(count: int, directory: str) -> None:
    channels, calls = [], []
    for index in range(count):
        channel = grpc.aio.insecure_channel(f"unix://{directory}/p{index}.sock")
        call = channel.unary_stream(f"/{SERVICE}/Watch")(b"")
        await call.read()
        channels.append(channel)
        calls.append(call)
    print("streaming", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    if sys.argv[1] == "client":
        asyncio.run(client(int(sys.argv[2]), sys.argv[3]))
    else:
        pairs = [tuple(p) for p in json.loads(sys.argv[2])] if len(sys.argv) > 2 else []
        print(json.dumps(asyncio.run(serve(int(sys.argv[1]), pairs))))
