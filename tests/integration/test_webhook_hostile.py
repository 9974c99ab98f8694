"""The webhook process against hostile and careless clients, over real TLS on loopback.

It reads the Kubernetes schemas from the snapshot file (``--schemas-file``), so no API server is
needed. One client must never block the others: a huge review is validated off the event loop
(``/healthz`` answers meanwhile), a client that drips bytes or never finishes its TLS handshake is
cut, connections past the cap are closed at once, JSON nested 100,000 deep is a 400 with one line,
and 1,000 generated Configurations never get a 500. Every log line stays one JSON object.
"""

from __future__ import annotations

import asyncio
import io
import json
import ssl
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.test_webhook_admission import free_port, make_certificate
from tests.support.configuration_fuzz import as_object, mutations
from tests.support.processes import Child, ProcessGroup, wait_for

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "webhook" / "kubernetes-1.37-schemas.json"


@dataclass
class Served:
    url: str
    port: int
    client_ssl: ssl.SSLContext
    child: Child

    async def get(self, path: str) -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.url}{path}", ssl=self.client_ssl) as response,
        ):
            return response.status

    async def post(self, body: bytes) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.url}/validate",
                data=io.BytesIO(body),  # aiohttp warns that large raw bytes could block
                headers={"Content-Type": "application/json"},
                ssl=self.client_ssl,
            ) as response,
        ):
            return response.status, await response.text()

    def log_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.child.log().splitlines()]


async def serve(processes: ProcessGroup, tmp_path: Path, env: Mapping[str, str]) -> Served:
    crt, key = make_certificate(tmp_path)
    port = free_port()
    child = await processes.start(
        "akri_webhook",
        "--tls-crt-file", str(crt), "--tls-key-file", str(key),
        "--port", str(port), "--host", "127.0.0.1", "--schemas-file", str(SCHEMAS),
        env={"METRICS_PORT": "0", "LOG_FORMAT": "json", **env},
        name="webhook",
    )  # fmt: skip
    served = Served(
        url=f"https://127.0.0.1:{port}",
        port=port,
        client_ssl=ssl.create_default_context(cafile=str(crt)),
        child=child,
    )

    async def ready() -> bool:
        assert child.proc.returncode is None, f"the webhook exited:\n{child.log()}"
        try:
            return await served.get("/readyz") == 200
        except aiohttp.ClientError:
            return False

    await wait_for(ready, timeout=30, what="the webhook to serve", interval=0.1)
    return served


@pytest.fixture
async def webhook(processes: ProcessGroup, tmp_path: Path) -> Served:
    return await serve(
        processes,
        tmp_path,
        {
            "WEBHOOK_REQUEST_TIMEOUT_SECONDS": "2",
            "WEBHOOK_VALIDATION_TIMEOUT_SECONDS": "60",
            "LOG_LEVEL": "debug",
        },
    )


def admission_review(obj: Any, uid: str = "u-1") -> bytes:
    return json.dumps(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {"uid": uid, "operation": "CREATE", "object": obj},
        }
    ).encode()


def udev_configuration(rules: int) -> dict[str, Any]:
    details = "udevRules:\n" + "".join(f'- KERNEL=="video{i}"\n' for i in range(rules))
    return {
        "apiVersion": "akri.sh/v0",
        "kind": "Configuration",
        "metadata": {"name": "many-rules", "namespace": "default"},
        "spec": {"discoveryHandler": {"name": "udev", "discoveryDetails": details}},
    }


@pytest.mark.timeout(120)
async def test_healthz_answers_while_a_huge_review_is_validated(webhook: Served) -> None:
    body = admission_review(udev_configuration(100_000))
    review = asyncio.ensure_future(webhook.post(body))
    try:
        await wait_for(
            lambda: any(r.get("event") == "review_started" for r in webhook.log_records()),
            timeout=30,
            what="the review to start",
            interval=0.01,
        )
        assert await webhook.get("/healthz") == 200
        assert not review.done(), "the review ended first: the test proves nothing"
        status, text = await review
    finally:
        review.cancel()
        await asyncio.gather(review, return_exceptions=True)
    assert status == 200, text
    assert json.loads(text)["response"]["allowed"] is True


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"request": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"\xff\xfe not json",
    ],
    ids=["deep-array", "deep-request", "not-utf8"],
)
async def test_bodies_that_are_no_review_are_400_with_one_line(
    webhook: Served, body: bytes
) -> None:
    status, text = await webhook.post(body)
    assert status == 400, text
    assert text.count("\n") == 1
    assert len(text) < 300
    assert await webhook.get("/healthz") == 200


async def test_an_object_nested_too_deep_is_denied(webhook: Served) -> None:
    deep: Any = 1
    for _ in range(200):
        deep = {"a": deep}
    status, text = await webhook.post(admission_review(deep))
    assert status == 200, text
    response = json.loads(text)["response"]
    assert response["allowed"] is False
    assert "nested deeper than 100 levels" in response["status"]["message"]


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Whether the server closed the connection within ``seconds`` (reads until EOF)."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(4096):
                pass
    except TimeoutError:
        return False
    except (ConnectionError, ssl.SSLError):
        return True
    return True


@pytest.mark.timeout(60)
async def test_a_client_dripping_its_headers_is_cut(webhook: Served) -> None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", webhook.port, ssl=webhook.client_ssl
    )
    try:
        writer.write(b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        await writer.drain()

        async def drip() -> None:
            for _ in range(200):
                writer.write(b"X")
                await writer.drain()
                await asyncio.sleep(0.1)  # wait-ok: the drip itself (one byte every 100 ms)

        dripping = asyncio.ensure_future(drip())
        try:
            assert await _closed_within(reader, 15.0)
        finally:
            dripping.cancel()
            await asyncio.gather(dripping, return_exceptions=True)
    finally:
        writer.close()


@pytest.mark.timeout(60)
async def test_a_client_dripping_its_body_is_answered_408_and_cut(webhook: Served) -> None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", webhook.port, ssl=webhook.client_ssl
    )
    try:
        writer.write(
            b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        )
        await writer.drain()

        async def drip() -> None:
            for _ in range(200):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.1)  # wait-ok: the drip itself (one byte every 100 ms)

        dripping = asyncio.ensure_future(drip())
        try:
            async with asyncio.timeout(15.0):
                status_line = await reader.readline()
            assert status_line.startswith(b"HTTP/1.1 408"), status_line
        finally:
            dripping.cancel()
            await asyncio.gather(dripping, return_exceptions=True)
    finally:
        writer.close()


@pytest.mark.timeout(60)
async def test_a_client_that_never_finishes_its_handshake_is_cut(webhook: Served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", webhook.port)  # no TLS at all
    try:
        assert await _closed_within(reader, 15.0)
    finally:
        writer.close()


@pytest.mark.timeout(60)
async def test_connections_past_the_cap_are_closed_at_once(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    webhook = await serve(
        processes,
        tmp_path,
        {"WEBHOOK_MAX_CONNECTIONS": "4", "WEBHOOK_REQUEST_TIMEOUT_SECONDS": "3"},
    )
    idle = [
        await asyncio.open_connection("127.0.0.1", webhook.port, ssl=webhook.client_ssl)
        for _ in range(4)
    ]
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", webhook.port, ssl=webhook.client_ssl
        )
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            assert await _closed_within(reader, 2.0)
        finally:
            writer.close()
        assert any(r.get("event") == "connections_refused" for r in webhook.log_records())
        # The idle ones are cut after the request timeout; then clients are served again.
        for idle_reader, _ in idle:
            assert await _closed_within(idle_reader, 15.0)

        async def healthy() -> bool:
            try:
                return await webhook.get("/healthz") == 200
            except aiohttp.ClientError:
                return False

        await wait_for(healthy, timeout=15, what="the webhook to serve again", interval=0.1)
    finally:
        for _, idle_writer in idle:
            idle_writer.close()


@pytest.mark.timeout(600)
async def test_generated_configurations_never_get_a_500(webhook: Served) -> None:
    statuses: Counter[int] = Counter()
    allowed: Counter[bool] = Counter()
    async with aiohttp.ClientSession() as session:
        for i, document in enumerate(mutations(13, 1000)):
            obj = as_object(document)
            body = admission_review(obj if obj is not None else document.decode(errors="replace"))
            async with session.post(
                f"{webhook.url}/validate",
                data=io.BytesIO(body),
                headers={"Content-Type": "application/json"},
                ssl=webhook.client_ssl,
            ) as response:
                text = await response.text()
            assert response.status == 200, f"case {i}: {response.status} {text[:300]}"
            answer = json.loads(text)["response"]
            allowed[answer["allowed"]] += 1
            statuses[response.status] += 1
            if not answer["allowed"]:
                assert len(answer["status"]["message"]) < 20_000, f"case {i}"
    print(f"1000 generated Configurations, allowed or not: {dict(allowed)}")
    assert allowed[True] > 20
    assert allowed[False] > 300
    records = webhook.log_records()  # every line is one JSON object
    assert not [r for r in records if r.get("level") == "error"], records[-5:]
