"""``akri-opcua-monitoring-broker`` / ``python -m akri_opcua_broker``: serve the latest node value.

Reads its settings and mounted credentials once (a bad variable or credential file prints one
line naming it and exits 2), subscribes to the
node and serves ``OpcuaNode`` on ``BROKER_GRPC_ADDRESS:BROKER_GRPC_PORT``; SIGTERM or SIGINT stops
the server and the subscription and exits 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import grpc
import structlog

from akri_common.logging import configure
from akri_common.settings import SettingsError
from akri_common.usage import COMMON, parse_usage
from akri_opcua_broker.credentials import ClientCredentials, mounted_credentials
from akri_opcua_broker.monitor import NodeMonitor
from akri_opcua_broker.servicer import OpcuaNodeServicer
from akri_opcua_broker.settings import BrokerSettings
from akri_proto.opcua_node import opcua_node_pb2_grpc as pb_grpc

log = structlog.get_logger(__name__)

EXIT_BAD_SETTINGS = 2
EXIT_FAILED = 1
STOP_GRACE_SECONDS = 1.0


async def serve(settings: BrokerSettings, credentials: ClientCredentials | None) -> int:
    monitor = NodeMonitor(settings, credentials=credentials)
    server = grpc.aio.server()
    pb_grpc.add_OpcuaNodeServicer_to_server(OpcuaNodeServicer(monitor), server)
    address = f"{settings.address}:{settings.port}"
    try:
        server.add_insecure_port(address)
    except RuntimeError as err:
        log.error("bind_failed", address=address, error=str(err))  # noqa: TRY400 - no traceback
        return EXIT_FAILED
    await server.start()
    log.info("broker_serving", address=address, url=settings.server_url, node=settings.node_id)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watching = asyncio.create_task(monitor.run(), name="opcua-monitor")
    watching.add_done_callback(lambda _: stop.set())  # the monitor only ends by failing
    try:
        await stop.wait()
    finally:
        watching.cancel()
        await asyncio.wait([watching])
        await server.stop(STOP_GRACE_SECONDS)
    if not watching.cancelled() and watching.exception() is not None:
        error = watching.exception()
        log.error("monitor_failed", error=f"{type(error).__name__}: {error}"[:200])
        return EXIT_FAILED
    log.info("broker_stopped")
    return 0


VARIABLES = (
    ("OPCUA_DISCOVERY_URL", "required: the server's URL (the agent sets it, maybe suffixed)"),
    ("IDENTIFIER", "required: the identifier of the node to follow"),
    ("NAMESPACE_INDEX", "the node's namespace index (default 2)"),
    ("BROKER_GRPC_ADDRESS", "where OpcuaNode is served (default [::])"),
    ("BROKER_GRPC_PORT", "its port (default 8083)"),
    ("OPCUA_SAMPLING_INTERVAL_MS", "the subscription's sampling interval (default 100)"),
    ("OPCUA_CERTIFICATES_DIRECTORY", "mounted client credentials for SignAndEncrypt"),
    *COMMON,
)


def main(argv: list[str] | None = None) -> None:
    parse_usage(
        sys.argv[1:] if argv is None else argv,
        prog="akri-opcua-monitoring-broker",
        summary="Serves the latest value of one OPC UA node over upstream's OpcuaNode gRPC service.",
        variables=VARIABLES,
    )
    try:
        settings = BrokerSettings.from_environment(os.environ)
        configure(level=settings.log_level, fmt=settings.log_format, output=settings.log_output)
        credentials = mounted_credentials(settings.certificates)
    except (SettingsError, ValueError) as err:  # CredentialsError is a ValueError
        print(f"opcua monitoring broker: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    if credentials is not None:
        log.info("opcua_security", policy="Basic256Sha256", mode="SignAndEncrypt")
    raise SystemExit(asyncio.run(serve(settings, credentials)))


if __name__ == "__main__":
    main()
