"""The agent's Prometheus metrics, with upstream's names and labels."""

from __future__ import annotations

from akri_agent.discovery.observer import DiscoveryObserver
from akri_common.prometheus import REGISTRY

INSTANCE_COUNT = REGISTRY.gauge(
    "akri_instance_count",
    "Instances this agent currently applies, by Configuration and sharing",
    ["configuration", "is_shared"],
)
DISCOVERY_RESPONSE_TIME = REGISTRY.histogram(
    "akri_discovery_response_time",
    "Seconds from opening a Discover stream to its first device list",
    ["configuration"],
    buckets=(0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 60),
)
DISCOVERY_RESPONSE_RESULT = REGISTRY.counter(
    "akri_discovery_response_result",
    "Discover outcomes by discovery handler and result",
    ["discovery_handler_name", "result"],
)


class PrometheusObserver(DiscoveryObserver):
    """Discovery events as upstream's discovery metrics."""

    def first_list(self, *, configuration: str, handler: str, seconds: float) -> None:
        DISCOVERY_RESPONSE_TIME.labels(configuration=configuration).observe(seconds)

    def result(self, *, handler: str, result: str) -> None:
        DISCOVERY_RESPONSE_RESULT.labels(discovery_handler_name=handler, result=result).inc()
