"""``helm install``, ``upgrade`` and ``uninstall`` of the chart against the testbed's real API server.

The fast testbed runs no containers and has no Service network, so these tests never let the API
server call the webhook (a Service's ClusterIP would be routed off this machine): the release's own
Configuration is created while the webhook cannot answer, because the chart exempts it at creation
(no call is made); the certificate tests run without any Configuration. The webhook's certificate
is read back with ``lookup`` on every upgrade and kept; ``certificate.rotate`` makes a new one and
trusts the old CA for that one release. Hooks are skipped (``--no-hooks``): the cleanup hook's image
cannot run here; ``test_chart_rbac.py`` runs the cleanup itself. Last, our webhook process serves
the chart's certificate and a client that trusts only the chart's caBundle and expects the
Service's name (as the API server does) accepts it.
"""

from __future__ import annotations

import base64
import contextlib
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from akri_testbed.cluster import Cluster

from akri_common.k8s.errors import NotFoundError
from akri_common.k8s.objects import CONFIGURATION, SECRET, Kind, Objects
from tests.support.agents import free_port
from tests.support.helm import CHART, HelmFailedError, of_kind, render, run_on_cluster
from tests.support.kube import objects
from tests.support.processes import ProcessGroup, wait_for

__all__ = ["objects"]

VWC = Kind(
    "ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    namespaced=False,
)
CLUSTER_ROLE = Kind("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", False)
WEBHOOK = "akri-webhook-configuration"


@pytest.fixture
def release(testbed: Cluster, objects: Objects) -> Iterator[tuple[str, str]]:
    """A release name and namespace; uninstalled (without hooks) at teardown."""
    del objects  # the CRDs are installed
    name, namespace = "akri", f"t-helm-{uuid.uuid4().hex[:8]}"
    yield name, namespace
    with contextlib.suppress(HelmFailedError):
        run_on_cluster(testbed.kubeconfig, "uninstall", name, "-n", namespace, "--no-hooks")


def ca_count(bundle_b64: str) -> int:
    return base64.b64decode(bundle_b64).count(b"-----BEGIN CERTIFICATE-----")


async def webhook_state(objects: Objects, namespace: str) -> tuple[dict[str, Any], str]:
    secret = await objects.get(SECRET, namespace=namespace, name=WEBHOOK)
    vwc = await objects.get(VWC, namespace=None, name=WEBHOOK)
    return secret["data"], vwc["webhooks"][0]["clientConfig"]["caBundle"]


async def gone(objects: Objects, namespace: str) -> None:
    for kind, where, obj in (
        (SECRET, namespace, WEBHOOK),
        (VWC, None, WEBHOOK),
        (CLUSTER_ROLE, None, "akri-agent-role"),
        (CONFIGURATION, namespace, "akri-debug-echo"),
    ):
        with pytest.raises(NotFoundError):
            await objects.get(kind, namespace=where, name=obj)


async def test_the_release_configurations_are_created_before_the_webhook_answers(
    testbed: Cluster, objects: Objects, release: tuple[str, str]
) -> None:
    name, namespace = release
    run_on_cluster(
        testbed.kubeconfig, "install", name, str(CHART), "-n", namespace, "--create-namespace",
        values=[{"debugEcho": {"configuration": {"enabled": True}}}],
    )  # fmt: skip
    config = await objects.get(CONFIGURATION, namespace=namespace, name="akri-debug-echo")
    assert config["metadata"]["labels"]["app.kubernetes.io/instance"] == name
    vwc = await objects.get(VWC, namespace=None, name=WEBHOOK)
    assert vwc["webhooks"][0]["failurePolicy"] == "Fail"
    assert vwc["webhooks"][0]["matchConditions"][0]["name"] == "not-created-by-this-release"
    run_on_cluster(testbed.kubeconfig, "uninstall", name, "-n", namespace, "--no-hooks", "--wait")
    await gone(objects, namespace)


async def test_the_webhook_certificate_is_kept_across_upgrades_and_rotated(
    testbed: Cluster, objects: Objects, release: tuple[str, str]
) -> None:
    name, namespace = release
    helm = testbed.kubeconfig
    run_on_cluster(helm, "install", name, str(CHART), "-n", namespace, "--create-namespace")
    installed, bundle = await webhook_state(objects, namespace)
    assert bundle == installed["ca.crt"]
    assert ca_count(bundle) == 1

    # An upgrade keeps the certificate (read back with lookup).
    run_on_cluster(
        helm, "upgrade", name, str(CHART), "-n", namespace, "--reuse-values",
        "--set", "controller.resources.memoryLimit=300Mi",
    )  # fmt: skip
    kept, bundle = await webhook_state(objects, namespace)
    assert kept == installed
    assert bundle == installed["ca.crt"]

    # Rotation: a new certificate, and the old CA still trusted for this release.
    run_on_cluster(
        helm, "upgrade", name, str(CHART), "-n", namespace, "--reuse-values",
        "--set", "webhookConfiguration.certificate.rotate=true",
    )  # fmt: skip
    rotated, bundle = await webhook_state(objects, namespace)
    assert rotated["tls.crt"] != installed["tls.crt"]
    assert rotated["ca.crt"] != installed["ca.crt"]
    both = base64.b64decode(bundle)
    assert base64.b64decode(rotated["ca.crt"]) in both
    assert base64.b64decode(installed["ca.crt"]) in both
    assert ca_count(bundle) == 2

    # The next ordinary upgrade keeps the new certificate and drops the old CA.
    run_on_cluster(
        helm, "upgrade", name, str(CHART), "-n", namespace, "--reuse-values",
        "--set", "webhookConfiguration.certificate.rotate=false",
    )  # fmt: skip
    settled, bundle = await webhook_state(objects, namespace)
    assert settled == rotated
    assert bundle == rotated["ca.crt"]

    run_on_cluster(helm, "uninstall", name, "-n", namespace, "--no-hooks", "--wait")
    await gone(objects, namespace)


async def test_the_webhook_serves_the_chart_certificate_to_a_client_trusting_the_bundle(
    testbed: Cluster, processes: ProcessGroup, tmp_path: Path
) -> None:
    """Our webhook process with the files the chart's Secret mounts: the API server's view
    (trust the caBundle, expect the Service's name) accepts its TLS, and a review is answered."""
    manifests = render()
    data = of_kind(manifests, "Secret")[WEBHOOK]["data"]
    vwc = of_kind(manifests, "ValidatingWebhookConfiguration")[WEBHOOK]
    service_name = vwc["webhooks"][0]["name"]  # <name>.<namespace>.svc
    for key in ("tls.crt", "tls.key"):
        (tmp_path / key).write_bytes(base64.b64decode(data[key]))
    port = free_port()
    webhook = await processes.start(
        "akri_webhook",
        "--tls-crt-file", str(tmp_path / "tls.crt"), "--tls-key-file", str(tmp_path / "tls.key"),
        "--port", str(port), "--host", "127.0.0.1",
        env={"KUBECONFIG": str(testbed.kubeconfig), "METRICS_PORT": "0", "LOG_FORMAT": "json"},
        name="webhook",
    )  # fmt: skip
    trust = ssl.create_default_context(
        cadata=base64.b64decode(vwc["webhooks"][0]["clientConfig"]["caBundle"]).decode()
    )

    async def ready() -> bool:
        assert webhook.proc.returncode is None, webhook.log()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(
                    f"https://127.0.0.1:{port}/readyz", ssl=trust, server_hostname=service_name
                ) as response,
            ):
                return response.status == 200
        except aiohttp.ClientConnectorError:
            return False

    await wait_for(ready, timeout=30, what="the webhook with the chart's certificate", interval=0.2)
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"https://127.0.0.1:{port}/healthz", ssl=trust, server_hostname="another.name.svc"
            ),
        ):
            pass
