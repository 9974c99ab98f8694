"""structlog set-up shared by every process: JSON lines in a cluster, a readable console on a terminal.

Events are snake_case names with context as keys: ``log.info("instance_applied", instance=...)``.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

Format = Literal["auto", "json", "console"]
Output = Literal["stderr", "stdout"]  # LOG_OUTPUT: images set stdout, the container log


def configure(*, level: str = "info", fmt: Format = "auto", output: Output = "stderr") -> None:
    """Configures structlog and the standard library's root logger once, at process start,
    writing to ``output`` (stderr by default; the images set ``LOG_OUTPUT=stdout``)."""
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"log level: unknown level {level!r} (use debug, info, warning or error)")
    stream = sys.stdout if output == "stdout" else sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and stream.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if use_console
        else structlog.processors.JSONRenderer(sort_keys=True)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=numeric, stream=stream, format="%(name)s %(levelname)s %(message)s")
