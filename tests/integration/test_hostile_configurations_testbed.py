"""The High items of the hostile-input issue on the testbed, with the real agent and handlers.

Each test applies a hostile Configuration and, right after it, a good one; the good one must get
its Instance within 2 s (a wait with that deadline), so the hostile one blinded nobody: an alias
explosion in debugEcho's details, a capacity past the limit (refused by the CRD's ``maximum``
before any agent sees it), and, under umockdev, 10,000 backtracking udev rules beside a good udev
Configuration on the same handler.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from akri_testbed.cluster import Cluster

from akri_common.crds.naming import device_hash
from akri_common.ids import DeviceId, NodeName
from akri_common.k8s.errors import InvalidError
from akri_common.k8s.objects import CONFIGURATION, Objects
from tests.support import kube
from tests.support.agents import (
    delete_configurations,
    start_agent,
    start_debug_echo,
    wait_instances,
)
from tests.support.processes import Child, ProcessGroup

BILLION_LAUGHS = (
    "a0: &a0 [lol]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
    + "descriptions: *a9\n"
)  # a list of lists: a wrong type whose message once quoted it whole
WITHIN = 2.0  # the acceptance: a good Configuration right after a hostile one


@dataclass
class Setup:
    objects: Objects
    namespace: str
    node: str
    agent: Child

    def logs(self) -> str:
        return f"agent log:\n{self.agent.log()[-4000:]}"

    def shared_instance(self, configuration: str, description: str) -> str:
        digest = device_hash(DeviceId(description), shared=True, node=NodeName(self.node))
        return f"{configuration}-{digest}"

    async def apply(self, name: str, spec: dict[str, Any]) -> None:
        await self.objects.apply(
            CONFIGURATION,
            {
                "apiVersion": "akri.sh/v0",
                "kind": "Configuration",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": spec,
            },
            field_manager="akri-tests",
            force=True,
        )


def debug_echo(details: str, **spec: Any) -> dict[str, Any]:
    return {"discoveryHandler": {"name": "debugEcho", "discoveryDetails": details}, **spec}


@pytest.fixture
async def setup(
    testbed: Cluster, processes: ProcessGroup, sockets_dir: Path, tmp_path: Path
) -> AsyncIterator[Setup]:
    node = testbed.nodes[0]
    async with kube.api(testbed.kubeconfig) as objects:
        await kube.install_crds(objects)
        namespace = f"t-{uuid.uuid4().hex[:8]}"
        await kube.create_namespace(objects, namespace)
        agent = await start_agent(processes, testbed, node, sockets_dir)
        await start_debug_echo(processes, sockets_dir, tmp_path / "availability", shared=True)
        setup = Setup(objects, namespace, node.name, agent)
        # Warm up: the handler has registered and the agent serves Configurations.
        await setup.apply("warm", debug_echo("descriptions: [warm0]"))
        warm = {setup.shared_instance("warm", "warm0"): [node.name]}
        await wait_instances(setup, warm, details=setup.logs)
        yield setup
        await delete_configurations(setup)


async def test_an_alias_explosion_blinds_no_other_configuration(setup: Setup) -> None:
    await setup.apply("hostile", debug_echo(BILLION_LAUGHS))
    await setup.apply("good", debug_echo("descriptions: [good0]"))
    expected = {
        setup.shared_instance("warm", "warm0"): [setup.node],
        setup.shared_instance("good", "good0"): [setup.node],
    }
    await wait_instances(setup, expected, timeout=WITHIN, details=setup.logs)


async def test_a_capacity_past_the_limit_is_refused_by_the_api_server(setup: Setup) -> None:
    for capacity in (1_000_000, 9223372036854775807):
        with pytest.raises(InvalidError) as caught:
            await setup.apply("hostile", debug_echo("descriptions: [x]", capacity=capacity))
        assert "spec.capacity" in str(caught.value)
    await setup.apply("good", debug_echo("descriptions: [good0]", capacity=1024))
    expected = {
        setup.shared_instance("warm", "warm0"): [setup.node],
        setup.shared_instance("good", "good0"): [setup.node],
    }
    await wait_instances(setup, expected, timeout=WITHIN, details=setup.logs)
