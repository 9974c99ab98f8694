"""Reading a process's ``/metrics`` and ``/healthz`` over plain HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio


async def scrape(port: int, path: str, *, timeout: float = 5) -> str:
    """The raw HTTP response (status line, headers, body) to ``GET path``, or ``""`` while nothing
    accepts connections on ``port``."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return ""
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        await writer.wait_closed()
    return data.decode()


def metric_sum(text: str, name: str) -> float:
    """The sum of every sample of metric ``name`` (all its label sets) in an exposition."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(f"{name}{{") or line.startswith(f"{name} ")
    )
