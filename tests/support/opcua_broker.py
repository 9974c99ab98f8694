"""The sample OPC UA monitoring broker as a real process, and a real ``OpcuaNode`` client for it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping

import grpc

from akri_proto.opcua_node import opcua_node_pb2 as pb
from akri_proto.opcua_node import opcua_node_pb2_grpc as pb_grpc
from tests.support.agents import free_port
from tests.support.processes import Child, ProcessGroup, wait_for


async def get_value(port: int, *, timeout: float = 2.0) -> tuple[int, str] | None:
    """``OpcuaNode.GetValue`` on ``127.0.0.1:port``: (value, server), or None while unavailable."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.OpcuaNodeStub(channel)
        try:
            reply = await stub.GetValue(pb.ValueRequest(), timeout=timeout)
        except grpc.aio.AioRpcError as err:
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return None
            raise
    return reply.value, reply.opcua_server


async def start_broker(
    processes: ProcessGroup,
    env: Mapping[str, str],
    *,
    name: str = "opcua-broker",
    python: str = sys.executable,
) -> tuple[Child, int]:
    """Starts ``python -m akri_opcua_broker`` with ``env`` (what a pod would get) on a free
    loopback port; returns it and the port once it serves."""
    port = free_port()
    child = await processes.start(
        "akri_opcua_broker",
        env={
            **env,
            "BROKER_GRPC_ADDRESS": "127.0.0.1",
            "BROKER_GRPC_PORT": str(port),
            "LOG_FORMAT": "json",
        },
        name=name,
        python=python,
    )

    async def serving() -> bool:
        assert child.proc.returncode is None, f"{name} exited:\n{child.log()}"
        return await _listening(port)

    await wait_for(serving, timeout=20, what=f"{name} serving", interval=0.1)
    return child, port


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True
