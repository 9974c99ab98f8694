"""structlog set-up shared by every process: JSON lines in a cluster, a readable console on a terminal.

Events are snake_case names with context as keys: ``log.info("instance_applied", instance=...)``.
The standard library's loggers (grpc's own, asyncio's, aiohttp's) go through the same processors
and renderer, so that their records, tracebacks included, are one JSON line each, with the
logger's name in ``logger``, not plain-text lines in the middle of the JSON stream. Every string
field is bounded (``MAX_FIELD`` characters, ``MAX_EXCEPTION`` for a traceback, whose end is kept):
no input, however large, makes a log line unbounded.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog

Format = Literal["auto", "json", "console"]
Output = Literal["stderr", "stdout"]  # LOG_OUTPUT: images set stdout, the container log

MAX_FIELD = 2048
MAX_EXCEPTION = 8192


def bound_fields(_: Any, __: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """A processor: every string value cut to ``MAX_FIELD`` characters (tracebacks keep their
    last ``MAX_EXCEPTION``, where the error is), saying how much was cut."""
    for key, value in event.items():
        if isinstance(value, str):
            limit = MAX_EXCEPTION if key == "exception" else MAX_FIELD
            if len(value) > limit:
                cut = len(value) - limit
                event[key] = (
                    f"[{cut} characters cut] ..." + value[-limit:]
                    if key == "exception"
                    else value[:limit] + f"... [{cut} characters cut]"
                )
    return event


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
            bound_fields,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                bound_fields,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
