"""The controller's Prometheus metrics: ``akri_broker_pod_count`` by Configuration and node.

Counted from the broker-pod cache at each scrape (pods not being deleted), so the figure is what
exists now, not a sum of +1/-1 that drifts when an event is missed or the process restarts. A label
pair once seen stays exported, at 0, so that a series drops to zero rather than disappearing.
"""

from __future__ import annotations

from collections import Counter

from akri_common.crds.instance import KIND as INSTANCE_KIND
from akri_common.exposition import Family, gauge
from akri_common.k8s.store import Store
from akri_controller.brokers import names
from akri_controller.brokers.owners import controller_of

BROKER_POD_COUNT = "akri_broker_pod_count"


class BrokerPodCollector:
    """Registered with ``akri_common.prometheus.REGISTRY`` as ``collect``."""

    def __init__(self, pods: Store) -> None:
        self._pods = pods
        self._seen: set[tuple[str, str]] = set()

    def counts(self) -> dict[tuple[str, str], int]:
        counted: Counter[tuple[str, str]] = Counter()
        for pod in self._pods:
            metadata = pod.get("metadata") or {}
            if metadata.get("deletionTimestamp"):
                continue
            if (controller_of(pod) or {}).get("kind") != INSTANCE_KIND:
                continue
            labels = metadata.get("labels") or {}
            counted[
                (labels.get(names.CONFIGURATION_LABEL, ""), labels.get(names.TARGET_NODE_LABEL, ""))
            ] += 1
        self._seen |= counted.keys()
        return {key: counted.get(key, 0) for key in sorted(self._seen)}

    def collect(self) -> list[Family]:
        counts: dict[tuple[str, ...], float] = {k: float(n) for k, n in self.counts().items()}
        return [
            gauge(
                BROKER_POD_COUNT,
                "Broker pods the controller deployed, by Configuration and node",
                ("configuration", "node"),
                counts,
            )
        ]
