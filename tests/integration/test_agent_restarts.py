"""The agent under restarts, races and deletions, on the testbed with real processes (issue 12).

Agents, debugEcho handlers and the controller run as real processes against the testbed's API
server and node processes (kubelet's own device manager). Nothing lost, nothing churned: a shared
Configuration deleted leaves nothing, a killed agent or a ``discoveryDetails`` change keeps the
Instances and brokers of devices still there, restarts in any order converge, SIGTERM stops at once.
"""

from __future__ import annotations

import asyncio
import itertools
import signal

import pytest
from akri_testbed.cluster import restart_node

from akri_common.crds.naming import device_hash
from akri_common.ids import DeviceId, NodeName
from akri_common.k8s.errors import NotFoundError
from akri_common.k8s.objects import (
    CONFIGURATION,
)
from tests.integration.agent_bed import (
    BROKER,
    SERVICE_SPEC,
    Bed,
    InstanceHistory,
    bed,
    instance_count_is,
    registered,
    registrations,
    settle,
    state_is,
)
from tests.support.agents import (
    NodeAgent,
    remove_dead_sockets,
    start_agent,
    start_debug_echo,
)
from tests.support.controller import start_controller
from tests.support.kube import objects
from tests.support.processes import wait_for

__all__ = ["bed", "objects"]


# -- 1. deleting a shared Configuration leaves nothing behind, every time ---------------------


@pytest.mark.timeout(900)
async def test_deleting_a_shared_configuration_leaves_nothing_twenty_times(bed: Bed) -> None:
    await bed.start_agents(shared=True)
    await start_controller(bed.processes, bed.testbed)
    both = tuple(sorted(n.name for n in bed.nodes))
    for round_ in range(20):
        await bed.apply(
            "shared",
            "foo0",
            "foo1",
            capacity=2,
            brokerSpec={"brokerPodSpec": BROKER},
            instanceServiceSpec=SERVICE_SPEC,
            configurationServiceSpec=SERVICE_SPEC,
        )

        async def deployed() -> bool:
            state = await bed.state()
            return (
                len(state) == 2
                and all(nodes == both for _, nodes in state.values())
                and len(await bed.running_brokers()) == 4
            )

        await wait_for(deployed, timeout=30, what=f"round {round_}: brokers", interval=0.1)
        await bed.objects.delete(CONFIGURATION, namespace=bed.namespace, name="shared")

        async def nothing_left() -> bool:
            return not await bed.owned_by("shared")

        try:
            await wait_for(nothing_left, timeout=10, what=f"round {round_}: cleanup", interval=0.1)
        except AssertionError as err:
            raise AssertionError(f"{err}; left: {await bed.owned_by('shared')}") from None

        async def configuration_gone() -> bool:
            try:
                await bed.objects.get(CONFIGURATION, namespace=bed.namespace, name="shared")
            except NotFoundError:
                return True
            return False

        await wait_for(configuration_gone, timeout=10, what="the Configuration gone")


# -- 2. kill -9 and restart the agent: nothing churned, a vanished device removed ------------


@pytest.mark.timeout(600)
async def test_agent_kill_and_restart_keeps_instances_and_brokers(bed: Bed) -> None:
    await bed.start_agents(shared=False)
    await start_controller(bed.processes, bed.testbed)
    await bed.apply("cams", "foo0", "foo1", brokerSpec={"brokerPodSpec": BROKER})
    await wait_for(lambda: instance_count_is(bed, 4), timeout=20, what="four Instances")
    await settle(bed, what="four brokers")
    instances, brokers = await bed.state(), await bed.brokers()
    first = bed.nodes[0]
    resource = next(
        f"akri.sh/{name}" for name, (_, nodes) in instances.items() if nodes == (first.name,)
    )

    async with InstanceHistory(bed.objects, bed.namespace) as history:
        for _ in range(10):
            await bed.restart_agent(first)
            await registered(first.agent, resource)
            assert await bed.state() == instances
            assert await bed.brokers() == brokers

        # A device that vanishes while the agent is down is released once it is back.
        await bed.processes.stop(first.agent, sig=signal.SIGKILL)
        remove_dead_sockets(bed.node(first.name).device_plugin_dir)
        first.availability.write_text("OFFLINE")
        first.agent = await start_agent(
            bed.processes, bed.testbed, bed.node(first.name), first.handlers_dir,
            metrics_port=first.metrics_port, env=bed.agent_env,
        )  # fmt: skip
        kept = {n: s for n, s in instances.items() if s[1] != (first.name,)}
        await wait_for(
            lambda: state_is(bed, kept), timeout=15, what="the vanished devices released"
        )
        # Gone from a list, each vanished Instance is also deleted as the watch tells it (its
        # DELETED event may trail the list by a moment).
        vanished = [name for name in instances if name not in kept]
        await wait_for(
            lambda: all(history.last(name) == "DELETED" for name in vanished),
            timeout=10,
            what="a DELETED event for each vanished Instance",
        )
    for name, (_, nodes) in kept.items():
        assert not history.dropped(name, nodes[0]), "an Instance that stayed was never touched"


# -- 3. a discoveryDetails change that keeps devices keeps their Instances -------------------


async def test_a_details_change_keeps_the_devices_that_stay(bed: Bed) -> None:
    await bed.start_agents(shared=True)
    await start_controller(bed.processes, bed.testbed)
    both = tuple(sorted(n.name for n in bed.nodes))
    broker = {"brokerPodSpec": BROKER}
    await bed.apply("cams", "foo0", "foo1", "foo2", capacity=2, brokerSpec=broker)
    await wait_for(lambda: instance_count_is(bed, 3), timeout=20, what="three Instances")
    await settle(bed, what="six brokers")
    before, brokers = await bed.state(), await bed.brokers()
    gone = "cams-" + device_hash(DeviceId("foo2"), shared=True, node=NodeName(both[0]))
    async with InstanceHistory(bed.objects, bed.namespace) as history:
        await bed.apply("cams", "foo0", "foo1", capacity=2, brokerSpec=broker)
        kept = {n: s for n, s in before.items() if n != gone}
        await wait_for(lambda: state_is(bed, kept), timeout=10, what="foo2 released")

        async def brokers_of_the_kept() -> bool:
            return {n: u for n, u in (await bed.brokers()).items() if gone not in n} == {
                n: u for n, u in brokers.items() if gone not in n
            } and not any(gone in n for n in await bed.brokers())

        await wait_for(brokers_of_the_kept, timeout=10, what="foo2's brokers gone", interval=0.1)
    for name in kept:
        for node in both:
            assert not history.dropped(name, node), f"{name} lost {node} meanwhile"


# -- 7. restart handler, agent and kubelet in any order: the same Instances within 5 s --------


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "order",
    list(itertools.permutations(("handler", "agent", "kubelet"))),
    ids="-".join,
)
async def test_restarts_in_any_order_converge_to_the_same_instances(
    bed: Bed, order: tuple[str, str, str]
) -> None:
    await bed.start_agents(shared=True)
    await bed.apply("cams", "foo0", "foo1")
    both = tuple(sorted(n.name for n in bed.nodes))

    async def listed_by_both() -> bool:
        state = await bed.state()
        return len(state) == 2 and all(nodes == both for _, nodes in state.values())

    await wait_for(listed_by_both, timeout=20, what="two Instances on both nodes")
    before = await bed.state()
    first = bed.nodes[0]
    resource = f"akri.sh/{sorted(before)[0]}"
    await registered(first.agent, resource)
    # Registrations of the current agent process that happened before kubelet's last restart.
    seen = 0
    async with InstanceHistory(bed.objects, bed.namespace) as history:
        for step in order:
            if step == "agent":
                await bed.restart_agent(first)
                seen = 0
            elif step == "kubelet":
                seen = registrations(first.agent, resource)
                await asyncio.to_thread(restart_node, bed.testbed, first.name)
            else:
                await _restart_handler(bed, first)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await wait_for(lambda: state_is(bed, before), timeout=5, what="the same Instances")
        await registered(first.agent, resource, more_than=seen, timeout=5 - (loop.time() - started))
    for name in before:
        assert not history.dropped(name, first.name), f"{name} lost {first.name} meanwhile"


async def _restart_handler(bed: Bed, agent: NodeAgent) -> None:
    """Stops the node's debugEcho handler (SIGTERM, as kubelet would) and starts another."""
    name = f"debug-echo-{agent.name}"
    await bed.processes.stop(bed.handlers[agent.name])
    bed.handlers[agent.name] = await start_debug_echo(
        bed.processes, agent.handlers_dir, agent.availability, shared=True, name=name
    )


# -- 9. a rollout stops the agent at any moment: it exits at once --------------------------


async def test_sigterm_right_after_start_stops_the_agent_at_once(bed: Bed) -> None:
    """A DaemonSet rollout may stop an agent that has just started (its watches just opened, a
    handler registering): it stops within the deadline, exits 0 and removes its socket."""
    node = bed.testbed.nodes[0]
    for round_ in range(10):
        handlers_dir = bed.processes.scratch_dir()
        agent = await start_agent(bed.processes, bed.testbed, node, handlers_dir, env=bed.agent_env)
        await start_debug_echo(
            bed.processes, handlers_dir, bed.tmp_path / "availability.txt", shared=True,
            name=f"debug-echo-{round_}",
        )  # fmt: skip
        agent.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(agent.proc.wait(), 5)
        except TimeoutError:
            raise AssertionError(f"round {round_}: still running 5 s after SIGTERM") from None
        assert code == 0, agent.log()
        assert not (handlers_dir / "agent-registration.sock").exists()
