"""The webhook behind the testbed's real API server: a ValidatingWebhookConfiguration with TLS.

The webhook runs as a real process with a self-signed certificate made by the openssl CLI; the
API server calls it at ``https://127.0.0.1:<port>/validate`` (it runs on loopback), trusting the
certificate through ``caBundle``. The webhook fetches the Kubernetes schemas from the same API
server. Only the test's namespace is covered (``namespaceSelector``), and the registration is
deleted at teardown, also after a failure.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from akri_testbed.cluster import Cluster
from prometheus_client.parser import text_string_to_metric_families

from akri_common.k8s.errors import InvalidError, NotFoundError
from akri_common.k8s.objects import CONFIGURATION, Kind, Objects
from tests.support import kube
from tests.support.metrics import metric_sum, scrape
from tests.support.processes import ProcessGroup, wait_for

VWC = Kind(
    "ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    namespaced=False,
)
DATA = Path(__file__).resolve().parents[1] / "data" / "webhook"
TYPO = "spec.brokerSpec.brokerPodSpec.containers[0].imagePullPolicyy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Webhook:
    url: str
    client_ssl: ssl.SSLContext
    objects: Objects
    namespace: str
    metrics_port: int

    def configuration(self, sample: str, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = yaml.safe_load((DATA / f"{sample}.yaml").read_text())
        obj["metadata"] = {"name": name, "namespace": self.namespace}
        return obj

    async def post(self, body: Any) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/validate", json=body, ssl=self.client_ssl) as response,
        ):
            return response.status, await response.text()

    async def refused(self, obj: dict[str, Any]) -> str:
        """Creates ``obj``, expecting a refusal; returns the API server's message."""
        with pytest.raises(InvalidError) as caught:
            await self.objects.create(CONFIGURATION, obj)
        return str(caught.value)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    crt, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(crt),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return crt, key


@pytest.fixture
async def webhook(
    testbed: Cluster, processes: ProcessGroup, tmp_path: Path
) -> AsyncIterator[Webhook]:
    crt, key = make_certificate(tmp_path)
    port, metrics_port = free_port(), free_port()
    child = await processes.start(
        "akri_webhook",
        "--tls-crt-file", str(crt), "--tls-key-file", str(key),
        "--port", str(port), "--host", "127.0.0.1",
        env={"KUBECONFIG": str(testbed.kubeconfig), "METRICS_PORT": str(metrics_port),
             "LOG_FORMAT": "json"},
        name="webhook",
    )  # fmt: skip
    client_ssl = ssl.create_default_context(cafile=str(crt))
    url = f"https://127.0.0.1:{port}"

    async def ready() -> bool:
        assert child.proc.returncode is None, f"the webhook exited:\n{child.log()}"
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{url}/readyz", ssl=client_ssl) as response,
            ):
                return response.status == 200
        except aiohttp.ClientError:
            return False

    await wait_for(ready, timeout=30, what="the webhook to load the schemas", interval=0.1)
    async with kube.api(testbed.kubeconfig) as objects:
        await kube.install_crds(objects)
        namespace = f"t-{uuid.uuid4().hex[:8]}"
        await kube.create_namespace(objects, namespace)
        name = f"akri-webhook-{namespace}"
        registration = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [
                {
                    "name": f"{name}.akri.sh",
                    "clientConfig": {
                        "url": f"{url}/validate",
                        "caBundle": base64.b64encode(crt.read_bytes()).decode(),
                    },
                    "rules": [
                        {
                            "apiGroups": ["akri.sh"],
                            "apiVersions": ["v0"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["configurations"],
                            "scope": "*",
                        }
                    ],
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": namespace}
                    },
                    "failurePolicy": "Fail",
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                    "timeoutSeconds": 10,
                }
            ],
        }
        await objects.create(VWC, registration)
        try:
            hook = Webhook(
                url=url,
                client_ssl=client_ssl,
                objects=objects,
                namespace=namespace,
                metrics_port=metrics_port,
            )
            await _wait_until_enforced(hook)
            yield hook
        finally:
            with contextlib.suppress(NotFoundError):
                await objects.delete(VWC, namespace=None, name=name)


async def _wait_until_enforced(hook: Webhook) -> None:
    """The API server picks up a new registration after a moment: probe with a bad object."""
    probe = hook.configuration("debug-echo", "probe")
    probe["spec"]["brokerSpec"]["brokerPodSpec"]["containers"][0]["imagePullPolicyy"] = "Never"

    async def enforced() -> bool:
        try:
            await hook.objects.create(CONFIGURATION, probe)
        except InvalidError as err:
            return TYPO in str(err)
        await hook.objects.delete(CONFIGURATION, namespace=hook.namespace, name="probe")
        return False

    await wait_for(enforced, timeout=30, what="the API server to call the webhook", interval=0.2)


async def test_a_good_configuration_is_admitted_and_a_bad_update_refused(webhook: Webhook) -> None:
    for sample in ("debug-echo", "udev", "onvif"):
        await webhook.objects.create(CONFIGURATION, webhook.configuration(sample, sample))
    stored = await webhook.objects.get(CONFIGURATION, namespace=webhook.namespace, name="udev")
    assert stored["spec"]["brokerSpec"]["brokerPodSpec"]["containers"][0]["name"]

    with pytest.raises(InvalidError) as caught:
        await webhook.objects.merge_patch(
            CONFIGURATION,
            {"spec": {"instanceServiceSpec": {"portz": []}}},
            namespace=webhook.namespace,
            name="debug-echo",
        )
    assert "spec.instanceServiceSpec.portz: unknown field" in str(caught.value)


async def test_a_typo_in_the_broker_pod_spec_is_refused_naming_the_path(webhook: Webhook) -> None:
    obj = webhook.configuration("debug-echo", "typo")
    obj["spec"]["brokerSpec"]["brokerPodSpec"]["containers"][0]["imagePullPolicyy"] = "Always"
    message = await webhook.refused(obj)
    assert "denied the request" in message
    assert f'{TYPO}: unknown field (did you mean "imagePullPolicy"?)' in message


async def test_bad_udev_permissions_are_refused(webhook: Webhook) -> None:
    obj = webhook.configuration("udev", "rwx")
    obj["spec"]["discoveryHandler"]["discoveryDetails"] = (
        'udevRules:\n- KERNEL=="video[0-9]*"\npermissions: rwx\n'
    )
    message = await webhook.refused(obj)
    assert "spec.discoveryHandler.discoveryDetails.permissions" in message
    assert "invalid udev device permissions" in message


async def test_a_property_with_value_and_value_from_is_refused(webhook: Webhook) -> None:
    obj = webhook.configuration("onvif", "both")
    obj["spec"]["discoveryHandler"]["discoveryProperties"][0]["value"] = "admin"
    message = await webhook.refused(obj)
    # The CRD's own oneOf refuses this before the webhook is asked; either way the entry is named.
    assert "discoveryProperties[0]" in message


def _bad_capacity_review(webhook: Webhook, name: str, *, uid: str, version: str) -> dict[str, Any]:
    """An AdmissionReview creating a udev Configuration whose capacity is a string."""
    obj = webhook.configuration("udev", name)
    obj["spec"]["capacity"] = "two"
    return {
        "apiVersion": f"admission.k8s.io/{version}",
        "kind": "AdmissionReview",
        "request": {"uid": uid, "operation": "CREATE", "object": obj},
    }


async def test_the_https_endpoint_directly(webhook: Webhook) -> None:
    status, text = await webhook.post(
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}
    )
    assert (status, text) == (400, "the AdmissionReview has no request\n")

    review = _bad_capacity_review(webhook, "direct", uid="d1b7", version="v1beta1")
    status, text = await webhook.post(review)
    answer = json.loads(text)
    assert status == 200
    assert answer["apiVersion"] == "admission.k8s.io/v1beta1"
    assert answer["response"]["uid"] == "d1b7"
    assert answer["response"]["allowed"] is False
    assert answer["response"]["status"]["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "field": "spec.capacity",
            "message": "expected an integer, got a string",
        }
    ]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{webhook.url}/healthz", ssl=webhook.client_ssl) as response,
    ):
        assert response.status == 200


async def test_reviews_are_counted_on_metrics(webhook: Webhook) -> None:
    review = _bad_capacity_review(webhook, "counted", uid="c1", version="v1")
    assert (await webhook.post(review))[0] == 200
    response = await scrape(webhook.metrics_port, "/metrics")
    head, _, text = response.partition("\r\n\r\n")
    assert "Content-Type: text/plain; version=0.0.4; charset=utf-8" in head
    # prometheus_client's parser, an independent reader: the whole exposition is well formed.
    families = {f.name: f for f in text_string_to_metric_families(text)}
    reviews = families["akri_webhook_reviews"]
    assert reviews.type == "counter"
    assert any(
        s.labels == {"operation": "CREATE", "allowed": "false"} and s.value >= 1
        for s in reviews.samples
    )
    assert metric_sum(text, "akri_webhook_review_seconds_count") >= 1
    assert 'akri_webhook_review_seconds_bucket{le="+Inf"}' in text
    assert "akri_webhook_connections_refused_total 0.0" in text
    assert metric_sum(text, "process_resident_memory_bytes") > 0
    assert metric_sum(text, "process_cpu_seconds_total") > 0
