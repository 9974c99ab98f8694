"""The agent survives the API server being away for a minute, and catches up when it returns.

This test has a testbed of its own (one node), because it stops that testbed's kube-apiserver.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from akri_testbed.cluster import Cluster, start_cluster, stop_cluster
from akri_testbed.processes import spawn, stop

from akri_common.k8s.errors import ApiError
from akri_common.k8s.objects import CONFIGURATION
from tests.support import kube
from tests.support.processes import ProcessGroup, wait_for

OUTAGE_SECONDS = 60


@pytest.fixture(scope="module")
def private_testbed() -> Iterator[Cluster]:
    directory = Path(tempfile.mkdtemp(prefix="akri-tb-outage-", dir="/tmp"))
    cluster = start_cluster(directory, nodes=1, die_with_parent=True)
    try:
        yield cluster
    finally:
        stop_cluster(cluster.directory)
        shutil.rmtree(directory, ignore_errors=True)


def restart_apiserver_after(cluster: Cluster, seconds: float) -> None:
    """Stops kube-apiserver, keeps it away for ``seconds``, starts it again with the same flags."""
    index = next(i for i, p in enumerate(cluster.processes) if p.name == "kube-apiserver")
    old = cluster.processes[index]
    stop(old)
    time.sleep(seconds)  # wait-ok: the outage itself is what is being tested
    cluster.processes[index] = spawn(
        old.name, old.command, old.log, die_with_parent=cluster.die_with_parent
    )
    cluster.save()


async def test_agent_rides_out_an_api_outage(
    private_testbed: Cluster, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> None:
    cluster = private_testbed
    node = cluster.nodes[0]
    availability = tmp_path / "availability.txt"
    async with kube.api(cluster.kubeconfig) as objects:
        await kube.install_crds(objects)
        await kube.create_namespace(objects, "outage")
        agent = await processes.start(
            "akri_agent",
            env={
                "AGENT_NODE_NAME": node.name,
                "DISCOVERY_HANDLERS_DIRECTORY": str(sockets_dir),
                "KUBECONFIG": str(cluster.kubeconfig),
                "KUBELET_DEVICE_PLUGINS_DIRECTORY": str(node.device_plugin_dir),
                "KUBELET_POD_RESOURCES_SOCKET": str(node.pod_resources_socket),
                "METRICS_PORT": "0",
                "LOG_FORMAT": "json",
            },
        )
        await wait_for(
            (sockets_dir / "agent-registration.sock").exists, timeout=20, what="agent socket"
        )
        await processes.start(
            "akri_debug_echo",
            env={
                "DISCOVERY_HANDLERS_DIRECTORY": str(sockets_dir),
                "DEBUG_ECHO_INSTANCES_SHARED": "true",
                "DEBUG_ECHO_AVAILABILITY_FILE": str(availability),
            },
        )
        await objects.apply(
            CONFIGURATION,
            kube.configuration("cams", "outage", "foo0", "foo1"),
            field_manager="tests",
            force=True,
        )

        async def names() -> set[str]:
            return set(await kube.instances(objects, "outage"))

        both = {"cams-8120fe", "cams-a19705"}

        async def have(expected: set[str]) -> bool:
            return await names() == expected

        await wait_for(lambda: have(both), timeout=20, what="Instances", interval=0.2)

        # The API server goes away; meanwhile a device goes offline.
        outage = asyncio.ensure_future(
            asyncio.to_thread(restart_apiserver_after, cluster, OUTAGE_SECONDS)
        )
        await asyncio.sleep(2)  # wait-ok: let the outage begin before the device changes
        availability.write_text("OFFLINE")
        await outage
        assert agent.proc.returncode is None, f"the agent died during the outage:\n{agent.log()}"

        async def answers() -> bool:
            try:
                await names()
            except ApiError:
                return False
            return True

        def tail() -> str:
            return "\n".join(agent.log().splitlines()[-60:])

        await wait_for(answers, timeout=60, what="the API server back", interval=0.5)
        try:
            # Bound: a write sent while the API server was still starting may wait out the
            # request timeout (30 s) before the retry, which comes within the back-off cap (15 s).
            took = await wait_for(
                lambda: have(set()),
                timeout=60,
                what="the change made during the outage",
                interval=0.2,
            )
            print(f"caught up {took:.1f} s after the API server answered again")
            # The device comes back at once: the agent's own delete is known to it even while its
            # Instance watch is still waiting out its back-off, so the Instances are re-created.
            availability.unlink()
            await wait_for(lambda: have(both), timeout=10, what="Instances back", interval=0.2)
        except AssertionError as err:
            raise AssertionError(f"{err}\nthe agent's last log lines:\n{tail()}") from None
        assert agent.proc.returncode is None
        assert "watch_failed" in agent.log(), "the outage was noticed and retried"
