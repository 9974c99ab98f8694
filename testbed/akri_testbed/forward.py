"""``python -m akri_testbed.forward --netns PATH LISTEN=TARGET ...``: loopback into a namespace.

The container testbed's control plane and registry live in the testbed's own network namespace.
This process listens on ``127.0.0.1:<port>`` in the namespace it was started in (the root one) and
connects each accepted connection to ``TARGET`` from inside the namespace at ``PATH``: the socket
that connects is created while this thread has entered that namespace (``setns``), so the
connection is made there. Bytes are copied both ways until either side closes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys

CLONE_NEWNET = 0x40000000
CHUNK = 64 * 1024


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def socket_in(netns_fd: int, home_fd: int) -> socket.socket:
    """A TCP socket created inside the namespace ``netns_fd``; this thread returns home after."""
    _setns(netns_fd)
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    finally:
        _setns(home_fd)


def parse_pair(text: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """``127.0.0.1:6443=10.200.0.1:6443`` → ((listen host, port), (target host, port))."""
    listen, sep, target = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r}: expected LISTEN=TARGET")

    def address(part: str) -> tuple[str, int]:
        host, _, port = part.rpartition(":")
        return host, int(port)

    return address(listen), address(target)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


async def _serve(
    listen: tuple[str, int], target: tuple[str, int], netns_fd: int, home_fd: int
) -> asyncio.Server:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        sock = socket_in(netns_fd, home_fd)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, target), 10)
            upstream_r, upstream_w = await asyncio.open_connection(sock=sock)
        except (OSError, TimeoutError):
            sock.close()
            client_w.close()
            return
        try:
            await asyncio.gather(_pipe(client_r, upstream_w), _pipe(upstream_r, client_w))
        finally:
            for w in (upstream_w, client_w):
                w.close()
                with contextlib.suppress(OSError, ConnectionError):
                    await w.wait_closed()

    return await asyncio.start_server(handle, listen[0], listen[1], reuse_address=True)


async def _main(pairs: list[tuple[tuple[str, int], tuple[str, int]]], netns: str) -> None:
    netns_fd = os.open(netns, os.O_RDONLY)
    home_fd = os.open(f"/proc/{os.getpid()}/task/{os.getpid()}/ns/net", os.O_RDONLY)
    servers = [await _serve(listen, target, netns_fd, home_fd) for listen, target in pairs]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("forwarding " + ", ".join(f"{a}->{b}" for a, b in pairs), flush=True)
    await stop.wait()
    for server in servers:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m akri_testbed.forward", description=__doc__)
    parser.add_argument("--netns", required=True, help="path of the target network namespace")
    parser.add_argument(
        "pairs", nargs="+", help="LISTEN=TARGET, e.g. 127.0.0.1:6443=10.200.0.1:6443"
    )
    args = parser.parse_args(argv)
    try:
        pairs = [parse_pair(p) for p in args.pairs]
    except ValueError as err:
        print(f"forward: {err}", file=sys.stderr)
        return 2
    asyncio.run(_main(pairs, args.netns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
