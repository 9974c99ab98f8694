"""Where the Kubernetes schemas come from: the API server's ``/openapi/v3`` documents, fetched once.

``fetch`` reads the OpenAPI v3 discovery document, then the ``api/v1`` and ``apis/batch/v1``
documents it points at (through the webhook's in-cluster or kubeconfig credentials), and keeps only
what ``schemas.extract`` needs. ``changed`` re-reads just the discovery document and compares the
published hashes, so a periodic refresh costs one small request unless the cluster was upgraded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from akri_common.k8s.client import connect
from akri_common.k8s.errors import UnavailableError, from_status, translate
from akri_common.k8s.objects import Objects
from akri_webhook.openapi import SchemaError
from akri_webhook.schemas import GROUP_VERSIONS, SchemaSet, extract

DISCOVERY_PATH = "/openapi/v3"
REQUEST_TIMEOUT = 30.0


async def fetch(objects: Objects, *, timeout: float = REQUEST_TIMEOUT) -> SchemaSet:
    """The schema set of the cluster ``objects`` talks to."""
    urls = await _published(objects, timeout=timeout)
    documents = []
    for group_version in GROUP_VERSIONS:
        documents.append(await _get_json(objects, urls[group_version], timeout=timeout))
    versions = {gv: _hash(urls[gv]) for gv in GROUP_VERSIONS}
    schemas = extract(documents, versions=versions)
    del documents  # the full documents (a few MiB as Python objects) are not kept
    return schemas


async def changed(
    objects: Objects, current: SchemaSet, *, timeout: float = REQUEST_TIMEOUT
) -> bool:
    """Whether the API server now publishes other documents than those ``current`` came from."""
    urls = await _published(objects, timeout=timeout)
    return any(_hash(urls[gv]) != current.versions.get(gv) for gv in GROUP_VERSIONS)


async def _published(objects: Objects, *, timeout: float) -> dict[str, str]:
    discovery = await _get_json(objects, DISCOVERY_PATH, timeout=timeout)
    paths: Mapping[str, Any] = discovery.get("paths", {}) if isinstance(discovery, dict) else {}
    urls: dict[str, str] = {}
    for group_version in GROUP_VERSIONS:
        entry = paths.get(group_version)
        url = entry.get("serverRelativeURL") if isinstance(entry, Mapping) else None
        if not isinstance(url, str):
            raise SchemaError(
                f"the API server publishes no OpenAPI v3 document for {group_version}"
            )
        urls[group_version] = url
    return urls


def _hash(url: str) -> str:
    return dict(parse_qsl(urlsplit(url).query)).get("hash", url)


async def _get_json(objects: Objects, url: str, *, timeout: float) -> Any:
    parts = urlsplit(url)
    action = f"GET {parts.path}"
    try:
        response = await asyncio.wait_for(
            objects.api.call_api(
                parts.path,
                "GET",
                query_params=parse_qsl(parts.query),
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            ),
            timeout,
        )
    except asyncio.CancelledError:
        raise
    except TimeoutError as err:
        raise UnavailableError(f"{action}: no answer within {timeout:g}s") from err
    except Exception as err:  # aiohttp and SSL errors: the server is not reachable
        raise translate(err, action=action) from err
    try:
        body: bytes = await asyncio.wait_for(response.read(), timeout)
    except TimeoutError as err:
        raise UnavailableError(f"{action}: no answer within {timeout:g}s") from err
    finally:
        response.release()
    status = int(response.status)
    if not 200 <= status <= 299:
        raise from_status(status, body, action=action)
    return json.loads(body)


async def _fetch_with(kubeconfig: Path | None) -> SchemaSet:
    api = await connect(kubeconfig)
    async with api:
        return await fetch(Objects(api))


def main(argv: list[str] | None = None) -> int:
    """``python -m akri_webhook.source --out FILE``: writes the cluster's schema set to a file."""
    parser = argparse.ArgumentParser(prog="python -m akri_webhook.source")
    parser.add_argument("--kubeconfig", help="default $KUBECONFIG, else in-cluster")
    parser.add_argument("--out", required=True, help="file to write (JSON)")
    args = parser.parse_args(argv)
    schemas = asyncio.run(_fetch_with(Path(args.kubeconfig) if args.kubeconfig else None))
    Path(args.out).write_text(schemas.to_json() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
