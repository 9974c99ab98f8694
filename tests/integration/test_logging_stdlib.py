"""grpc's own logger (and every standard-library logger) writes JSON lines through structlog.

A real ``grpc.aio`` server on a Unix socket whose method raises: grpc logs the error with its
traceback through the ``grpc._cython.cygrpc`` logger. Run as a child process configured as every
Akri-py process is (``LOG_FORMAT=json``): every line on its stderr must be one JSON object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    import asyncio, sys
    import grpc
    from akri_common.logging import configure

    configure(level="info", fmt="json")

    def fail(request, context):
        raise RuntimeError("a handler bug\\nover two lines")

    async def main(path):
        server = grpc.aio.server()
        handler = grpc.method_handlers_generic_handler(
            "t.T", {"M": grpc.unary_unary_rpc_method_handler(fail)}
        )
        server.add_generic_rpc_handlers((handler,))
        server.add_insecure_port(f"unix://{path}")
        await server.start()
        async with grpc.aio.insecure_channel(f"unix://{path}") as channel:
            call = channel.unary_unary("/t.T/M")
            try:
                await call(b"")
            except grpc.aio.AioRpcError as err:
                print(err.code().name, file=sys.stdout)
        await server.stop(None)

    asyncio.run(main(sys.argv[1]))
    """
)


def test_grpc_errors_are_json_lines(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "t.sock")],
        # As the images run every process: gRPC core's own INFO lines (a "Got goaway" when the
        # server stops before the client's connection is gone) are plain text, not Python logging.
        env={**os.environ, "GRPC_VERBOSITY": "ERROR"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "UNKNOWN"
    records = [json.loads(line) for line in result.stderr.splitlines()]  # each line is JSON
    grpc_records = [r for r in records if str(r.get("logger", "")).startswith("grpc")]
    assert grpc_records, result.stderr
    assert any("a handler bug" in r.get("exception", "") for r in grpc_records), result.stderr
