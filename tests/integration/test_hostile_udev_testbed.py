"""10,000 backtracking udev rules beside a good udev Configuration, with the real agent.

Run under ``umockdev-wrapper``: the udev handler reads the fake camera tree. The hostile
Configuration is applied first; the good one, applied right after, must get its Instance within
2 s (a wait with that deadline) while the hostile one is still being scanned.
"""

from __future__ import annotations

from akri_testbed.cluster import Cluster

from akri_common.crds.naming import device_hash
from akri_common.ids import DeviceId, NodeName
from akri_common.k8s.objects import CONFIGURATION
from tests.integration.test_udev_end_to_end import CONFIG, Setup, bed, setup
from tests.support.agents import wait_instances
from tests.support.umockdev import VIDEO0

__all__ = ["bed", "setup"]

import pytest

pytestmark = pytest.mark.umockdev

HOSTILE_RULE = 'SUBSYSTEM=="video4linux", DEVPATH!=".*.*.*.*.*.*.*.*Q"'


async def apply(setup: Setup, name: str, details: str) -> None:
    await setup.objects.apply(
        CONFIGURATION,
        {
            "apiVersion": "akri.sh/v0",
            "kind": "Configuration",
            "metadata": {"name": name, "namespace": setup.namespace},
            "spec": {"discoveryHandler": {"name": "udev", "discoveryDetails": details}},
        },
        field_manager="akri-tests",
        force=True,
    )


@pytest.mark.timeout(180)
async def test_many_backtracking_rules_blind_no_other_configuration(
    setup: Setup, testbed: Cluster
) -> None:
    node = testbed.nodes[0]
    digest = device_hash(DeviceId(VIDEO0), shared=False, node=NodeName(node.name))
    good = {f"{CONFIG}-{digest}": [node.name]}
    # Warm up: the handler has registered with the agent.
    await apply(setup, CONFIG, "udevRules: ['KERNEL==\"video0\"']\n")
    await wait_instances(setup, good, details=setup.logs)
    await setup.objects.delete(CONFIGURATION, namespace=setup.namespace, name=CONFIG)
    await wait_instances(setup, {}, details=setup.logs)

    hostile = "udevRules: [" + ", ".join([f"'{HOSTILE_RULE}'"] * 10_000) + "]\n"
    await apply(setup, "hostile", hostile)
    await apply(setup, CONFIG, "udevRules: ['KERNEL==\"video0\"']\n")
    await wait_instances(setup, good, timeout=2.0, details=setup.logs)
