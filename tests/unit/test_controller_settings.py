"""The controller's settings from the environment, and its broker-pod count from the pod cache."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from akri_common.k8s.store import Store
from akri_common.settings import SettingsError
from akri_controller.metrics import BrokerPodCollector
from akri_controller.settings import ControllerSettings


def test_defaults() -> None:
    settings = ControllerSettings.from_environment({})
    assert settings.metrics_port == 8080
    assert settings.kubeconfig is None
    assert settings.broker_pending_grace == timedelta(minutes=5)
    assert (settings.log_level, settings.log_format) == ("info", "auto")


def test_from_environment() -> None:
    settings = ControllerSettings.from_environment(
        {
            "METRICS_PORT": "9000",
            "KUBECONFIG": "/k/config",
            "BROKER_PENDING_GRACE_SECONDS": "30",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.metrics_port == 9000
    assert settings.kubeconfig == Path("/k/config")
    assert settings.broker_pending_grace == timedelta(seconds=30)
    assert (settings.log_level, settings.log_format) == ("debug", "json")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BROKER_PENDING_GRACE_SECONDS": "soon"}, "BROKER_PENDING_GRACE_SECONDS"),
        ({"BROKER_PENDING_GRACE_SECONDS": "-1"}, "BROKER_PENDING_GRACE_SECONDS"),
        ({"METRICS_PORT": "70000"}, "METRICS_PORT"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        ControllerSettings.from_environment(env)


def broker(
    name: str, config: str, node: str, *, owner: str = "Instance", deleting: bool = False
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "resourceVersion": "1",
        "labels": {"akri.sh/configuration": config, "akri.sh/target-node": node},
        "ownerReferences": [{"kind": owner, "controller": True, "uid": "u"}],
    }
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": metadata}


def test_broker_pod_count_reflects_the_cache() -> None:
    store = Store()
    collector = BrokerPodCollector(store)
    store.replace(
        [
            broker("a", "cam", "n1"),
            broker("b", "cam", "n1"),
            broker("c", "cam", "n2"),
            broker("d", "cam", "n2", deleting=True),
            broker("e", "cam", "n2", owner="Job"),
        ]
    )
    assert collector.counts() == {("cam", "n1"): 2, ("cam", "n2"): 1}
    store.replace([broker("a", "cam", "n1")])
    assert collector.counts() == {("cam", "n1"): 1, ("cam", "n2"): 0}
    (family,) = collector.collect()
    assert family.name == "akri_broker_pod_count"
    assert {(dict(s.labels)["node"], s.value) for s in family.samples} == {("n1", 1), ("n2", 0)}
