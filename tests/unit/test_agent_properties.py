"""Resolving discoveryProperties into the bytes a DiscoverRequest carries."""

from __future__ import annotations

import pytest

from akri_agent.discovery.errors import UnresolvedPropertyError
from akri_agent.discovery.properties import KeyRefError, KeyRefMissingError, resolve_properties
from akri_common.crds.configuration import DiscoveryProperty, KeyRef

SECRET = KeyRef(kind="secret", name="creds", key="password", namespace="edge")


async def test_literals_and_empty_entries() -> None:
    resolved = await resolve_properties(
        [DiscoveryProperty(name="a", value="é"), DiscoveryProperty(name="b")]
    )
    assert resolved == {"a": "é".encode(), "b": None}


async def test_references_need_a_lookup_without_a_cluster() -> None:
    with pytest.raises(UnresolvedPropertyError) as caught:
        await resolve_properties(
            [
                DiscoveryProperty(name="ok", value="1"),
                DiscoveryProperty(name="pw", value_from=SECRET),
            ]
        )
    assert caught.value.retryable is False
    assert str(caught.value).startswith("spec.discoveryHandler.discoveryProperties[1] (pw): ")
    assert "edge/creds" in str(caught.value)


async def test_lookup_results_and_optional_missing_keys() -> None:
    async def lookup(ref: KeyRef) -> bytes:
        if ref.name == "creds":
            return b"s3cret"
        raise KeyRefMissingError(f"{ref.kind} {ref.namespace}/{ref.name} not found")

    optional = KeyRef(kind="configMap", name="absent", key="k", optional=True)
    resolved = await resolve_properties(
        [
            DiscoveryProperty(name="pw", value_from=SECRET),
            DiscoveryProperty(name="opt", value_from=optional),
        ],
        lookup,
    )
    assert resolved == {"pw": b"s3cret"}

    required = KeyRef(kind="configMap", name="absent", key="k")
    with pytest.raises(
        UnresolvedPropertyError, match=r"\[0\] \(cm\): configMap default/absent not found"
    ) as caught:
        await resolve_properties([DiscoveryProperty(name="cm", value_from=required)], lookup)
    assert caught.value.retryable is True


async def test_lookup_failures_keep_their_retryability() -> None:
    async def forbidden(ref: KeyRef) -> bytes:
        raise KeyRefError("forbidden", retryable=False)

    with pytest.raises(UnresolvedPropertyError) as caught:
        await resolve_properties([DiscoveryProperty(name="pw", value_from=SECRET)], forbidden)
    assert caught.value.retryable is False
