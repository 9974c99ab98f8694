"""prometheus_client's registry as a ``/metrics`` exposition for ``MetricsServer``."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest


def exposition(registry: CollectorRegistry = REGISTRY) -> Callable[[], tuple[str, bytes]]:
    """The content type and text of ``registry`` (the default registry unless given)."""
    return lambda: (CONTENT_TYPE_LATEST, generate_latest(registry))
