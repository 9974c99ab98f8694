"""A trap for requests that must never be made: listens on every address of its namespace.

``python -m tests.integration.onvif_support.trap --port P``

Run in the handler's namespace, it accepts connections on ``P`` on every address (loopback,
``169.254.169.254`` when the test adds it, the namespace's own) and prints one JSON line per
connection: its peer and the first bytes of what was sent, credentials included. A test that
gets any line from it has caught the handler calling an address it should have refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys


async def main(port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = b""
        with contextlib.suppress(TimeoutError, OSError):
            data = await asyncio.wait_for(reader.read(4096), 2.0)
        peer = writer.get_extra_info("peername")
        sock = writer.get_extra_info("sockname")
        record = {"peer": str(peer), "local": str(sock), "data": data.decode("latin-1")}
        print(json.dumps({"connection": record}), flush=True)
        writer.close()

    servers = [
        await asyncio.start_server(handle, "0.0.0.0", port),
        await asyncio.start_server(handle, "::1", port),
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(json.dumps({"ready": True}), flush=True)
    await stop.wait()
    for server in servers:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args(sys.argv[1:]).port))
