"""``python -m akri_controller.cleanup``: the Helm chart's pre-delete hook.

Deletes every Configuration in every namespace and waits until they are gone, so that the agents
(still running while the hook runs) remove their finalizers and garbage collection takes the
Instances, broker pods, Jobs and Services before ``helm uninstall`` removes the agents. The same
job as upstream's ``kubectl delete configurations.akri.sh --all --all-namespaces --wait``, from
the controller's own image. Exit status: 0 when none is left, 1 when some remain at the deadline
(named in the log), 2 for bad arguments or credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import cast

import structlog

from akri_common.k8s.client import connect
from akri_common.k8s.errors import ApiError, GoneError, NotFoundError
from akri_common.k8s.objects import CONFIGURATION, JsonObject, Objects
from akri_common.logging import Format, configure
from akri_common.settings import Environment, SettingsError

log = structlog.get_logger(__name__)

EXIT_DONE = 0
EXIT_LEFT = 1
EXIT_BAD_SETTINGS = 2
DEFAULT_TIMEOUT_SECONDS = 120.0


class CleanupTimeoutError(Exception):
    """Configurations were still present at the deadline (their agents did not release them)."""

    def __init__(self, left: list[str]) -> None:
        self.left = left
        shown = ", ".join(left[:10]) + (" ..." if len(left) > 10 else "")
        super().__init__(f"{len(left)} Configuration(s) still present: {shown}")


def _key(obj: JsonObject) -> str:
    metadata = obj.get("metadata", {})
    return f"{metadata.get('namespace')}/{metadata.get('name')}"


async def delete_all_configurations(objects: Objects, *, timeout: float) -> int:
    """Deletes every Configuration and waits until none is left; returns how many it deleted.

    Raises ``CleanupTimeoutError`` naming the ones left after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    items, _ = await objects.list_all(CONFIGURATION)
    for item in items:
        metadata = item["metadata"]
        try:
            await objects.delete(
                CONFIGURATION, namespace=metadata["namespace"], name=metadata["name"]
            )
        except NotFoundError:
            continue
        log.info("configuration_deleted", configuration=_key(item))
    await _wait_until_none(objects, deadline=deadline)
    return len(items)


async def _wait_until_none(objects: Objects, *, deadline: float) -> None:
    """Watches Configurations until the last one is gone or the deadline passes."""
    while True:
        items, version = await objects.list_all(CONFIGURATION)
        left = {_key(item) for item in items}
        remaining = deadline - time.monotonic()
        if not left:
            return
        if remaining <= 0:
            raise CleanupTimeoutError(sorted(left))
        log.info("configurations_waiting", left=len(left), seconds_left=round(remaining, 1))
        try:
            async with asyncio.timeout(remaining):
                async for event in objects.watch(
                    CONFIGURATION,
                    resource_version=version,
                    timeout_seconds=max(1, int(remaining)),
                ):
                    if event.type == "DELETED":
                        left.discard(_key(event.object))
                    elif event.type == "ADDED":
                        left.add(_key(event.object))
                    if not left:
                        return
        except TimeoutError:
            continue  # the next list decides: gone, or past the deadline
        except GoneError:
            continue  # re-list


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m akri_controller.cleanup",
        description="Deletes every akri.sh Configuration and waits until they are gone.",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds to wait for the Configurations to be gone (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    return parser


async def _run(kubeconfig: Path | None, *, timeout: float) -> int:
    api = await connect(kubeconfig)
    async with api:
        deleted = await delete_all_configurations(Objects(api), timeout=timeout)
    log.info("cleanup_done", deleted=deleted)
    return EXIT_DONE


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if not 0 < args.timeout <= 3600:
        print(f"akri cleanup: --timeout: expected 0 to 3600 seconds (it is {args.timeout:g})",
              file=sys.stderr)  # fmt: skip
        return EXIT_BAD_SETTINGS
    read = Environment(os.environ)
    log_format = read.string("LOG_FORMAT", "auto")
    if log_format not in ("auto", "json", "console"):
        error = SettingsError("LOG_FORMAT", log_format, "expected auto, json or console")
        print(f"akri cleanup: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    configure(level=read.string("LOG_LEVEL", "info"), fmt=cast(Format, log_format))
    kubeconfig = read.optional("KUBECONFIG")
    try:
        return asyncio.run(_run(Path(kubeconfig) if kubeconfig else None, timeout=args.timeout))
    except CleanupTimeoutError as err:
        structlog.get_logger(__name__).error(
            "cleanup_incomplete", error=str(err), left=err.left[:50]
        )
        return EXIT_LEFT
    except ApiError as err:
        structlog.get_logger(__name__).error("cleanup_failed", error=str(err))
        return EXIT_LEFT if err.retryable else EXIT_BAD_SETTINGS


if __name__ == "__main__":
    sys.exit(main())
