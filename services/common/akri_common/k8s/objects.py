"""Reading and writing Kubernetes objects as plain dicts, with typed errors and bounded waits.

Every wait is bounded with ``asyncio.timeout``, not ``asyncio.wait_for``: on Python 3.11 a
``wait_for`` whose inner read completes in the same loop turn as a cancellation returns the result
and drops the cancellation, which left a process's watch running after SIGTERM.

Requests go through ``kubernetes_asyncio``'s ApiClient (authentication, TLS, connection pool) but
bodies stay JSON dicts: no generated models are built, so every kind, custom or not, is handled the
same way. ``apply`` is server-side apply with a field manager; ``watch`` yields events from one
watch request until the server ends it, and raises ``GoneError`` when the version is too old.
Waits are bounded with ``asyncio.timeout``, not ``asyncio.wait_for``: on Python 3.11 the latter
can swallow a cancellation that arrives as the awaited call completes, and a reflector that
misses its cancellation keeps a stopping controller alive (seen with the controller image).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from kubernetes_asyncio.client import ApiClient

from akri_common.k8s.errors import GoneError, UnavailableError, from_status, translate
from akri_common.prometheus import REGISTRY

JsonObject = dict[str, Any]
REQUEST_TIMEOUT = 30.0
API_REQUESTS = REGISTRY.counter(
    "akri_api_requests",
    "Requests this process sent to the Kubernetes API server, by method and resource",
    ["method", "resource"],
)
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True)
class Kind:
    """A resource type: where it lives in the API and what its objects are called."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, *, namespace: str | None = None, name: str | None = None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            root += f"/namespaces/{quote(namespace, safe='')}"
        root += f"/{self.plural}"
        if name is not None:
            root += f"/{quote(name, safe='')}"
        return root


POD = Kind("Pod", "", "v1", "pods")
NODE = Kind("Node", "", "v1", "nodes", namespaced=False)
SECRET = Kind("Secret", "", "v1", "secrets")
CONFIG_MAP = Kind("ConfigMap", "", "v1", "configmaps")
SERVICE = Kind("Service", "", "v1", "services")
JOB = Kind("Job", "batch", "v1", "jobs")


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED or BOOKMARK
    object: JsonObject


class Objects:
    """The API server, as dicts."""

    def __init__(self, api: ApiClient, *, timeout: float = REQUEST_TIMEOUT) -> None:
        self.api = api
        self.timeout = timeout

    async def get(self, kind: Kind, *, namespace: str | None, name: str) -> JsonObject:
        return await self._json(
            "GET",
            kind.path(namespace=namespace, name=name),
            action=f"get {kind.kind} {namespace}/{name}",
        )

    async def list_all(
        self,
        kind: Kind,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[JsonObject], str]:
        """All matching objects (each with its kind set) and the list's resourceVersion."""
        query = _selectors(label_selector, field_selector)
        result = await self._json(
            "GET", kind.path(namespace=namespace), query=query, action=f"list {kind.plural}"
        )
        items: list[JsonObject] = result.get("items") or []
        for item in items:
            item.setdefault("apiVersion", kind.api_version)
            item.setdefault("kind", kind.kind)
        return items, str(result.get("metadata", {}).get("resourceVersion", ""))

    async def create(self, kind: Kind, body: Mapping[str, Any]) -> JsonObject:
        namespace = body.get("metadata", {}).get("namespace")
        return await self._json(
            "POST", kind.path(namespace=namespace), body=body, action=f"create {kind.kind}"
        )

    async def apply(
        self, kind: Kind, body: Mapping[str, Any], *, field_manager: str, force: bool = False
    ) -> JsonObject:
        """Server-side apply of ``body`` (a partial object naming apiVersion, kind and metadata)."""
        metadata = body["metadata"]
        query = [("fieldManager", field_manager)] + ([("force", "true")] if force else [])
        return await self._json(
            "PATCH",
            kind.path(namespace=metadata.get("namespace"), name=metadata["name"]),
            body=body,
            query=query,
            content_type=APPLY,
            action=f"apply {kind.kind} {metadata.get('namespace')}/{metadata['name']} as {field_manager}",
        )

    async def merge_patch(
        self,
        kind: Kind,
        patch: Mapping[str, Any],
        *,
        namespace: str | None,
        name: str,
        field_manager: str | None = None,
    ) -> JsonObject:
        return await self._json(
            "PATCH",
            kind.path(namespace=namespace, name=name),
            body=patch,
            query=_manager(field_manager),
            content_type=MERGE,
            action=f"patch {kind.kind} {namespace}/{name}",
        )

    async def json_patch(
        self,
        kind: Kind,
        operations: list[dict[str, Any]],
        *,
        namespace: str | None,
        name: str,
        field_manager: str | None = None,
    ) -> JsonObject:
        """An RFC 6902 patch; ``test`` operations make it conditional (a failed test is a 422).

        ``field_manager`` names the writer in ``managedFields`` (the client's user agent otherwise).
        """
        return await self._json(
            "PATCH",
            kind.path(namespace=namespace, name=name),
            body=operations,
            query=_manager(field_manager),
            content_type=JSON_PATCH,
            action=f"patch {kind.kind} {namespace}/{name}",
        )

    async def delete(
        self,
        kind: Kind,
        *,
        namespace: str | None,
        name: str,
        uid: str | None = None,
        resource_version: str | None = None,
        propagation: str | None = None,
    ) -> None:
        """Deletes the object; with ``uid``/``resource_version`` only if it is still that one."""
        body: JsonObject = {"apiVersion": "v1", "kind": "DeleteOptions"}
        preconditions = {
            k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v
        }
        if preconditions:
            body["preconditions"] = preconditions
        if propagation:
            body["propagationPolicy"] = propagation
        await self._json(
            "DELETE",
            kind.path(namespace=namespace, name=name),
            body=body,
            action=f"delete {kind.kind} {namespace}/{name}",
        )

    async def watch(
        self,
        kind: Kind,
        *,
        resource_version: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncGenerator[WatchEvent, None]:
        """Events after ``resource_version`` until the server closes the watch."""
        query = [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_seconds)),
            *_selectors(label_selector, field_selector),
        ]
        action = f"watch {kind.plural}"
        response = await self._request(
            "GET", kind.path(namespace=namespace), query=query, action=action,
            timeout=timeout_seconds + self.timeout,
        )  # fmt: skip
        try:
            await _raise_for_status(response, action=action)
            buffer = b""
            async for chunk in _chunks(
                response, idle=timeout_seconds + self.timeout, action=action
            ):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield _event(json.loads(line), kind=kind, action=action)
        finally:
            response.release()

    async def _json(
        self,
        method: str,
        path: str,
        *,
        action: str,
        body: Mapping[str, Any] | list[dict[str, Any]] | None = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> JsonObject:
        response = await self._request(
            method, path, body=body, query=query, content_type=content_type, action=action
        )
        try:
            await _raise_for_status(response, action=action)
            async with asyncio.timeout(self.timeout):
                data = await response.read()
        except TimeoutError as err:
            raise UnavailableError(f"{action}: no answer within {self.timeout:g}s") from err
        except (aiohttp.ClientError, OSError) as err:
            raise UnavailableError(f"{action}: {type(err).__name__}: {err}") from err
        finally:
            response.release()
        result: JsonObject = json.loads(data) if data else {}
        return result

    async def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        body: Mapping[str, Any] | list[dict[str, Any]] | None = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        API_REQUESTS.labels(method=method, resource=_resource(path)).inc()
        try:
            async with asyncio.timeout(timeout or self.timeout):
                return await self.api.call_api(
                    path,
                    method,
                    query_params=query or [],
                    header_params=headers,
                    body=body if isinstance(body, list) or body is None else dict(body),
                    auth_settings=["BearerToken"],
                    _preload_content=False,
                    _request_timeout=timeout or self.timeout,
                )
        except asyncio.CancelledError:
            raise
        except TimeoutError as err:
            raise UnavailableError(
                f"{action}: no answer within {timeout or self.timeout:g}s"
            ) from err
        except Exception as err:  # aiohttp and SSL errors: the server is not reachable
            raise translate(err, action=action) from err


def _resource(path: str) -> str:
    """The resource a request path addresses (the plural after the version or namespace)."""
    parts = path.strip("/").split("/")
    parts = parts[2:] if parts[0] == "api" else parts[3:]
    if parts[:1] == ["namespaces"] and len(parts) > 2:
        parts = parts[2:]
    return parts[0] if parts else ""


def _manager(field_manager: str | None) -> list[tuple[str, str]] | None:
    return [("fieldManager", field_manager)] if field_manager else None


def _selectors(label: str | None, field: str | None) -> list[tuple[str, str]]:
    query = []
    if label:
        query.append(("labelSelector", label))
    if field:
        query.append(("fieldSelector", field))
    return query


async def _raise_for_status(response: Any, *, action: str) -> None:
    status = int(response.status)
    if 200 <= status <= 299:
        return
    async with asyncio.timeout(REQUEST_TIMEOUT):
        text = (await response.read()).decode(errors="replace")
    raise from_status(status, text, action=action)


async def _chunks(response: Any, *, idle: float, action: str) -> AsyncIterator[bytes]:
    while True:
        try:
            async with asyncio.timeout(idle):
                chunk: bytes = await response.content.readany()
        except TimeoutError as err:
            raise UnavailableError(f"{action}: the watch went silent for {idle:g}s") from err
        except (aiohttp.ClientError, OSError) as err:  # the connection broke mid-stream
            raise UnavailableError(f"{action}: {type(err).__name__}: {err}") from err
        if not chunk:
            return
        yield chunk


def _event(raw: Any, *, kind: Kind, action: str) -> WatchEvent:
    event_type = str(raw.get("type", ""))
    obj = raw.get("object") or {}
    if event_type == "ERROR":
        code = int(obj.get("code", 0))
        message = str(obj.get("message", ""))
        if code == 410:
            raise GoneError(f"{action}: {message}", status=410, reason="Expired")
        raise from_status(code or 500, json.dumps(obj), action=action)
    obj.setdefault("apiVersion", kind.api_version)
    obj.setdefault("kind", kind.kind)
    return WatchEvent(type=event_type, object=obj)


CONFIGURATION = Kind("Configuration", "akri.sh", "v0", "configurations")
INSTANCE = Kind("Instance", "akri.sh", "v0", "instances")
