"""Each component with the chart's own RBAC, against the testbed's real API server (RBAC mode).

The chart's ServiceAccounts, ClusterRoles and bindings are rendered with ``helm template`` and
applied; each process then runs with a token of its own ServiceAccount: the agent (with the Go
example handler) makes Instances, the controller makes broker pods and Services, the pre-delete
cleanup (``python -m akri_controller.cleanup``) deletes the Configurations and waits until the
agent has released them. Each account is refused one thing its component does not need.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from akri_testbed import kubeconfig
from akri_testbed.cluster import Cluster

from akri_common.k8s.errors import ForbiddenError, NotFoundError
from akri_common.k8s.objects import (
    CONFIGURATION,
    INSTANCE,
    NODE,
    POD,
    SECRET,
    SERVICE,
    Kind,
    Objects,
)
from akri_webhook import source
from tests.integration.test_go_handler import HANDLER, go_binary, start_go_handler
from tests.support import kube
from tests.support.agents import JSON_LOGS, start_agent
from tests.support.controller import start_controller
from tests.support.helm import of_kind, render
from tests.support.kube import objects
from tests.support.processes import ProcessGroup, wait_for

__all__ = ["go_binary", "objects"]

SERVICE_ACCOUNT = Kind("ServiceAccount", "", "v1", "serviceaccounts")
CLUSTER_ROLE = Kind("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", False)
CLUSTER_ROLE_BINDING = Kind(
    "ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings", False
)
CONFIG = "akri-go-rbac"
BROKER_SPEC = {
    "brokerPodSpec": {
        "containers": [
            {
                "name": "broker",
                "image": "akri-py/debug-echo-broker:0.1.0",
                "resources": {"limits": {"{{PLACEHOLDER}}": "1"}},
            }
        ]
    }
}
SERVICE_SPEC = {"ports": [{"port": 80, "targetPort": 8080}]}


async def token_for(objects: Objects, namespace: str, account: str) -> str:
    """A bound token of ``account`` (TokenRequest), valid for an hour."""
    request = Kind("TokenRequest", "", "v1", f"serviceaccounts/{account}/token")
    answer = await objects.create(
        request,
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {"namespace": namespace},
            "spec": {"expirationSeconds": 3600},
        },
    )
    token: str = answer["status"]["token"]
    return token


@pytest.fixture
async def chart_rbac(
    testbed: Cluster, objects: Objects, tmp_path: Path
) -> AsyncIterator[dict[str, Path]]:
    """The chart's accounts and roles in a fresh namespace; a kubeconfig per account."""
    namespace = f"t-rbac-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, namespace)
    manifests = render(namespace=namespace)
    applied: list[tuple[Kind, dict[str, Any]]] = []
    for kind in (SERVICE_ACCOUNT, CLUSTER_ROLE, CLUSTER_ROLE_BINDING):
        for manifest in of_kind(manifests, kind.kind).values():
            await objects.apply(kind, manifest, field_manager="akri-tests", force=True)
            applied.append((kind, manifest))
    configs: dict[str, Path] = {"namespace": Path(namespace)}
    for account in of_kind(manifests, "ServiceAccount"):
        token = await token_for(objects, namespace, account)
        configs[account] = kubeconfig.write(
            tmp_path / f"{account}.kubeconfig",
            server=testbed.server,
            ca_cert=testbed.ca_cert,
            token=token,
        )
    try:
        yield configs
    finally:
        for kind, manifest in reversed(applied):
            if not kind.namespaced:
                with contextlib.suppress(NotFoundError):
                    await objects.delete(kind, namespace=None, name=manifest["metadata"]["name"])


async def refused(kubeconfig_path: Path, call: Any) -> bool:
    async with kube.api(kubeconfig_path) as client:
        try:
            await call(client)
        except ForbiddenError:
            return True
    return False


async def test_each_component_works_with_its_own_rbac_and_is_refused_the_rest(
    testbed: Cluster, objects: Objects, processes: ProcessGroup, go_binary: Path,
    chart_rbac: dict[str, Path],
) -> None:  # fmt: skip
    namespace = str(chart_rbac["namespace"])
    node = testbed.nodes[0]
    handlers_dir = processes.scratch_dir()
    await start_go_handler(processes, go_binary, handlers_dir)
    await start_agent(
        processes, testbed, node, handlers_dir,
        env={**JSON_LOGS, "KUBECONFIG": str(chart_rbac["akri-agent-sa"])},
    )  # fmt: skip
    await start_controller(
        processes, testbed, env={**JSON_LOGS, "KUBECONFIG": str(chart_rbac["akri-controller-sa"])}
    )
    body = kube.configuration(CONFIG, namespace)
    body["spec"]["discoveryHandler"] = {"name": HANDLER, "discoveryDetails": "names: [alpha]"}
    body["spec"].update(brokerSpec=BROKER_SPEC, instanceServiceSpec=SERVICE_SPEC)
    await objects.apply(CONFIGURATION, body, field_manager="akri-tests", force=True)

    async def deployed() -> bool:
        instances = await kube.instances(objects, namespace)
        pods, _ = await objects.list_all(POD, namespace=namespace)
        services, _ = await objects.list_all(SERVICE, namespace=namespace)
        return len(instances) == 1 and len(pods) == 1 and len(services) == 1

    await wait_for(deployed, timeout=30, what="an Instance, its broker pod and Service")

    # The pre-delete hook, as the chart runs it, with its own account.
    hook = await processes.start(
        "akri_controller.cleanup",
        "--timeout", "30",
        env={**JSON_LOGS, "KUBECONFIG": str(chart_rbac["akri-helm-cleanup-hook-sa"])},
        name="cleanup",
    )  # fmt: skip
    assert await hook.proc.wait() == 0, hook.log()
    assert '"configuration_deleted"' in hook.log()
    assert not (await objects.list_all(CONFIGURATION, namespace=namespace))[0]

    async def released() -> bool:
        return not await kube.instances(objects, namespace)

    await wait_for(released, timeout=20, what="the Instance to go with its Configuration")

    # One forbidden verb per account.
    async def agent_creates_a_pod(client: Objects) -> None:
        await client.create(POD, {"apiVersion": "v1", "kind": "Pod",
                                  "metadata": {"name": "x", "namespace": namespace},
                                  "spec": {"containers": [{"name": "x", "image": "x"}]}})  # fmt: skip

    async def controller_deletes_a_configuration(client: Objects) -> None:
        await client.delete(CONFIGURATION, namespace=namespace, name="anything")

    async def webhook_lists_secrets(client: Objects) -> None:
        await client.list_all(SECRET)

    async def cleanup_deletes_an_instance(client: Objects) -> None:
        await client.delete(INSTANCE, namespace=namespace, name="anything")

    async def controller_reads_a_secret(client: Objects) -> None:
        await client.get(SECRET, namespace=namespace, name="anything")

    async def agent_lists_nodes(client: Objects) -> None:
        await client.list_all(NODE)

    assert await refused(chart_rbac["akri-agent-sa"], agent_creates_a_pod)
    assert await refused(chart_rbac["akri-agent-sa"], agent_lists_nodes)
    assert await refused(chart_rbac["akri-controller-sa"], controller_deletes_a_configuration)
    assert await refused(chart_rbac["akri-controller-sa"], controller_reads_a_secret)
    assert await refused(chart_rbac["akri-webhook-configuration"], webhook_lists_secrets)
    assert await refused(chart_rbac["akri-helm-cleanup-hook-sa"], cleanup_deletes_an_instance)


async def test_the_webhook_account_reads_the_schemas(
    objects: Objects, chart_rbac: dict[str, Path]
) -> None:
    async with kube.api(chart_rbac["akri-webhook-configuration"]) as client:
        schemas = await source.fetch(client)
    assert schemas.components


async def test_cleanup_without_configurations_is_done_at_once(
    testbed: Cluster, processes: ProcessGroup, chart_rbac: dict[str, Path]
) -> None:
    del testbed
    hook = await processes.start(
        "akri_controller.cleanup",
        env={**JSON_LOGS, "KUBECONFIG": str(chart_rbac["akri-helm-cleanup-hook-sa"])},
        name="cleanup",
        python=sys.executable,
    )
    assert await hook.proc.wait() == 0, hook.log()


async def test_cleanup_names_the_configurations_left_at_its_deadline(
    testbed: Cluster, objects: Objects, processes: ProcessGroup
) -> None:
    namespace = f"t-stuck-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, namespace)
    body = kube.configuration("held", namespace, "foo")
    body["metadata"]["finalizers"] = ["a-node-without-an-agent"]
    await objects.create(CONFIGURATION, body)
    try:
        hook = await processes.start(
            "akri_controller.cleanup",
            "--timeout", "2",
            env={**JSON_LOGS, "KUBECONFIG": str(testbed.kubeconfig)},
            name="cleanup",
        )  # fmt: skip
        assert await hook.proc.wait() == 1, hook.log()
        assert f"{namespace}/held" in hook.log()
        assert '"cleanup_incomplete"' in hook.log()
    finally:
        await objects.merge_patch(
            CONFIGURATION, {"metadata": {"finalizers": None}}, namespace=namespace, name="held"
        )
        with contextlib.suppress(NotFoundError):
            await objects.delete(CONFIGURATION, namespace=namespace, name="held")


async def test_cleanup_refuses_a_bad_timeout(processes: ProcessGroup) -> None:
    hook = await processes.start("akri_controller.cleanup", "--timeout", "0", name="cleanup")
    assert await hook.proc.wait() == 2
    assert "--timeout" in hook.log()
