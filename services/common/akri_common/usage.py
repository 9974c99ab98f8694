"""``--help`` for processes configured by the environment: usage, then the variables they read.

Every service's ``main`` calls ``parse_usage`` before reading its settings, so ``<prog> --help``
prints what to set and exits 0, and a stray argument is an error (exit 2) instead of being ignored.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

Variable = tuple[str, str]  # (name, what it means and its default)

COMMON: tuple[Variable, ...] = (
    ("LOG_LEVEL", "debug, info, warning or error (default info)"),
    ("LOG_FORMAT", "auto, json or console (default auto: console on a terminal, else JSON)"),
    ("LOG_OUTPUT", "stderr or stdout (default stderr; the images set stdout)"),
)


def usage_parser(
    *, prog: str, summary: str, variables: Sequence[Variable]
) -> argparse.ArgumentParser:
    width = max(len(name) for name, _ in variables) if variables else 0
    listing = "\n".join(f"  {name.ljust(width)}  {meaning}" for name, meaning in variables)
    return argparse.ArgumentParser(
        prog=prog,
        description=summary,
        epilog=f"environment variables:\n{listing}" if variables else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def parse_usage(
    argv: Sequence[str], *, prog: str, summary: str, variables: Sequence[Variable]
) -> None:
    """Prints usage and exits 0 on ``-h``/``--help``; exits 2 on any other argument."""
    usage_parser(prog=prog, summary=summary, variables=variables).parse_args(list(argv))
