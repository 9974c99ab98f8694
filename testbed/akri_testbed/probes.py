"""Readiness probes: HTTP(S) GETs on loopback and a deadline-bounded wait loop."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from akri_testbed.processes import Started, is_running

POLL_INTERVAL_S = 0.1


class NotReadyError(RuntimeError):
    """A component did not become ready before its deadline (or died while starting)."""


def tls_context(ca_cert: Path | None) -> ssl.SSLContext:
    """Verifies against ``ca_cert``; without one, accepts a component's self-signed certificate."""
    if ca_cert is not None:
        return ssl.create_default_context(cafile=str(ca_cert))
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def http_get(
    url: str, *, token: str | None = None, ca_cert: Path | None = None, timeout: float = 2.0
) -> tuple[int, bytes]:
    """GETs ``url``; returns the status and body. Connection errors become status 0."""
    if not url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")):
        raise ValueError(f"url={url!r}: the testbed only probes loopback over http(s)")
    request = urllib.request.Request(url)  # noqa: S310 (checked above)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    context = tls_context(ca_cert) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310 (checked above)
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as err:
        return int(err.code), bytes(err.read())
    except (urllib.error.URLError, OSError):
        return 0, b""


def get_json(url: str, *, token: str, ca_cert: Path) -> dict[str, Any] | None:
    """GETs a JSON object from the API server, or None when the answer is not 200."""
    status, body = http_get(url, token=token, ca_cert=ca_cert)
    if status != 200:
        return None
    value = json.loads(body)
    return value if isinstance(value, dict) else None


def wait_until(
    condition: Callable[[], bool], *, what: str, timeout: float, process: Started | None = None
) -> float:
    """Polls ``condition`` until it holds; returns the seconds it took.

    Raises NotReadyError after ``timeout`` seconds, or as soon as ``process`` has exited.
    """
    start = time.monotonic()
    deadline = start + timeout
    while True:
        if condition():
            return time.monotonic() - start
        if process is not None and not is_running(process):
            raise NotReadyError(f"{what}: {process.name} exited; see {process.log}")
        if time.monotonic() >= deadline:
            hint = f"; see {process.log}" if process is not None else ""
            raise NotReadyError(f"{what}: not ready after {timeout:.0f} s{hint}")
        time.sleep(POLL_INTERVAL_S)
