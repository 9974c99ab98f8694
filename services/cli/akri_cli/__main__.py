"""The ``akri`` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from pathlib import Path

from akri_cli.discover import CommandError, DiscoverOptions, discover
from akri_common.ids import NodeName
from akri_common.logging import configure


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="akri", description="Akri-py command line")
    commands = top.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser(
        "discover",
        help="run a Configuration's discovery here and print the Instances the agent would create",
    )
    cmd.add_argument("-f", "--file", type=Path, required=True, help="the Configuration (YAML/JSON)")
    cmd.add_argument(
        "--endpoint", help="call this handler directly: unix:///path.sock or http://host:port"
    )
    cmd.add_argument(
        "--shared",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="with --endpoint: whether the handler's devices are shared (default: not shared)",
    )
    cmd.add_argument(
        "--handlers-dir",
        type=Path,
        default=Path(os.environ.get("DISCOVERY_HANDLERS_DIRECTORY") or "/var/lib/akri"),
        help="where to host agent-registration.sock (default: $DISCOVERY_HANDLERS_DIRECTORY"
        " or /var/lib/akri)",
    )
    cmd.add_argument("--node", default=socket.gethostname(), help="node name (default: hostname)")
    cmd.add_argument("--watch", action="store_true", help="print every change until interrupted")
    cmd.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    cmd.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for a handler (default 10)"
    )
    cmd.add_argument("-v", "--verbose", action="store_true", help="log what happens on stderr")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure(level="info" if args.verbose else "error")
    options = DiscoverOptions(
        file=args.file,
        node=NodeName(args.node),
        handlers_dir=args.handlers_dir.absolute(),
        endpoint=args.endpoint,
        shared=args.shared,
        watch=args.watch,
        fmt=args.output,
        timeout=args.timeout,
    )
    try:
        asyncio.run(discover(options, sys.stdout))
    except CommandError as err:
        print(f"akri discover: error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
