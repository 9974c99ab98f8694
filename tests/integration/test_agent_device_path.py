"""One path for a device, on the testbed with real processes (issue 12).

A failing Configuration leaves the handler to the others; a changed mount reaches the next
``Allocate`` at once through the device registry; one ``Allocate`` costs one API request. The
handler is ``tests.support.file_handler`` (devices from a JSON file) or debugEcho.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import yaml

from akri_common.k8s.objects import (
    SECRET,
)
from akri_proto.deviceplugin.v1beta1 import api_pb2 as dp_pb
from akri_proto.deviceplugin.v1beta1 import api_pb2_grpc as dp_grpc
from tests.integration.agent_bed import (
    Bed,
    bed,
    instance_count_is,
    registered,
)
from tests.support.agents import (
    free_port,
    start_agent,
    start_debug_echo,
)
from tests.support.file_handler import write_devices
from tests.support.kube import objects
from tests.support.metrics import scrape
from tests.support.pods import create_pod, pod_body, running_pod
from tests.support.processes import wait_for

__all__ = ["bed", "objects"]


# -- 4. a failing Configuration does not switch the handler off ------------------------------


async def test_a_failing_configuration_does_not_switch_the_handler_off(bed: Bed) -> None:
    node = bed.testbed.nodes[0]
    handlers_dir = bed.processes.scratch_dir()
    devices = bed.tmp_path / "devices.json"
    write_devices(devices, [{"id": "cam-a"}, {"id": "cam-b"}])
    port = free_port()
    agent = await start_agent(
        bed.processes, bed.testbed, node, handlers_dir, metrics_port=port, env=bed.agent_env
    )
    await bed.processes.start(
        "tests.support.file_handler",
        env={"DISCOVERY_HANDLERS_DIRECTORY": str(handlers_dir), "FILE_HANDLER_DEVICES": str(devices)},
        name="file-handler",
    )  # fmt: skip

    def file_config(details: str) -> dict[str, Any]:
        return {"name": "file", "discoveryDetails": details}

    await bed.apply("bad-first", discoveryHandler=file_config("fail"))

    async def failed_once() -> bool:
        text = await scrape(port, "/metrics")
        return any(
            line.startswith("akri_discovery_response_result_total{")
            and 'discovery_handler_name="file"' in line
            and 'result="ok"' not in line
            for line in text.splitlines()
        )

    await wait_for(failed_once, timeout=15, what="the first failure", interval=0.1)
    await bed.apply("good", discoveryHandler=file_config("cam-a"))
    await wait_for(lambda: _names_are(bed, {"good-"}), timeout=10, what="good's Instance")
    await bed.apply("bad-second", discoveryHandler=file_config("fail"))
    await bed.apply("good-later", discoveryHandler=file_config("cam-b"))
    await wait_for(
        lambda: _names_are(bed, {"good-", "good-later-"}), timeout=10, what="good-later's Instance"
    )
    assert "handler_forgotten" not in agent.log()
    assert "discovery_handler_silent" not in agent.log()


async def _names_are(bed: Bed, prefixes: set[str]) -> bool:
    names = set(await bed.instances())
    return {n.rsplit("-", 1)[0] + "-" for n in names} == prefixes


# -- 5. a changed mount reaches Allocate at once ----------------------------------------------


async def test_a_changed_mount_reaches_the_next_allocate_within_a_second(bed: Bed) -> None:
    node = bed.testbed.nodes[0]
    handlers_dir = bed.processes.scratch_dir()
    devices = bed.tmp_path / "devices.json"
    mount = {"container_path": "/data", "host_path": "/srv/old"}
    write_devices(devices, [{"id": "disk", "mounts": [mount]}])
    agent = await start_agent(bed.processes, bed.testbed, node, handlers_dir, env=bed.agent_env)
    await bed.processes.start(
        "tests.support.file_handler",
        env={"DISCOVERY_HANDLERS_DIRECTORY": str(handlers_dir), "FILE_HANDLER_DEVICES": str(devices)},
        name="file-handler",
    )  # fmt: skip
    await bed.apply("disks", capacity=5, discoveryHandler={"name": "file"})
    await wait_for(lambda: instance_count_is(bed, 1), timeout=15, what="the disk's Instance")
    (instance,) = await bed.instances()
    await registered(agent, f"akri.sh/{instance}")
    plugin = max(node.device_plugin_dir.glob(f"{instance}-*.sock"), key=lambda p: p.name)

    async def allocated_host_paths(slot: int) -> list[str]:
        """What the plugin's ``Allocate`` returns for slot ``<instance>-<slot>``, over its socket."""
        async with grpc.aio.insecure_channel(f"unix://{plugin}") as channel:
            response = await dp_grpc.DevicePluginStub(channel).Allocate(
                dp_pb.AllocateRequest(
                    container_requests=[
                        dp_pb.ContainerAllocateRequest(devices_ids=[f"{instance}-{slot}"])
                    ]
                ),
                timeout=5,
            )
        return [m.host_path for m in response.container_responses[0].mounts]

    assert await allocated_host_paths(0) == ["/srv/old"]
    write_devices(devices, [{"id": "disk", "mounts": [{**mount, "host_path": "/srv/new"}]}])

    async def new_mount() -> bool:
        # The same slot again: kubelet re-allocating it writes nothing (it is held already), so
        # nothing but the device registry can bring the new mount.
        return await allocated_host_paths(0) == ["/srv/new"]

    await wait_for(new_mount, timeout=1.0, what="the new mount in Allocate", interval=0.05)


# -- 6. one Allocate: no Secret read, no apply of other Instances ----------------------------


async def test_one_allocate_reads_no_secret_and_applies_nothing_else(bed: Bed) -> None:
    node = bed.testbed.nodes[0]
    await bed.objects.create(
        SECRET,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": bed.namespace},
            "stringData": {"token": "t0ken"},
        },
    )
    handlers_dir = bed.processes.scratch_dir()
    port = free_port()
    agent = await start_agent(
        bed.processes, bed.testbed, node, handlers_dir, metrics_port=port, env=bed.agent_env
    )
    await start_debug_echo(
        bed.processes, handlers_dir, bed.tmp_path / "availability.txt", shared=False
    )
    ref = {"secretKeyRef": {"name": "creds", "namespace": bed.namespace, "key": "token"}}
    await bed.apply(
        "cams",
        capacity=2,
        discoveryHandler={
            "name": "debugEcho",
            "discoveryDetails": yaml.safe_dump({"descriptions": ["foo0", "foo1", "foo2"]}),
            "discoveryProperties": [{"name": "token", "valueFrom": ref}],
        },
    )
    await wait_for(lambda: instance_count_is(bed, 3), timeout=15, what="three Instances")
    instance = sorted(await bed.instances())[0]
    resource = f"akri.sh/{instance}"
    await registered(agent, resource)
    before = await _quiet_requests(port)

    await create_pod(bed.objects, pod_body("user", bed.namespace, resource, node=node.name))
    await running_pod(bed.objects, bed.namespace, "user")

    async def claimed() -> bool:
        return bool((await bed.instances())[instance]["spec"].get("deviceUsage"))

    await wait_for(claimed, timeout=10, what="the slot claimed", interval=0.1)
    after = await _quiet_requests(port)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after.keys() | before.keys()}
    delta = {k: v for k, v in delta.items() if v}
    print(f"API requests for one Allocate: {delta}")
    assert delta == {("PATCH", "instances"): 1}, "one deviceUsage write, nothing else"


async def _requests(port: int) -> dict[tuple[str, str], float]:
    counts: dict[tuple[str, str], float] = {}
    for line in (await scrape(port, "/metrics")).splitlines():
        if line.startswith("akri_api_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            fields = dict(
                part.split("=", 1) for part in labels[labels.index("{") + 1 : -1].split(",")
            )
            key = (fields["method"].strip('"'), fields["resource"].strip('"'))
            counts[key] = float(value)
    return counts


async def _quiet_requests(
    port: int, *, quiet: float = 1.0, timeout: float = 20
) -> dict[Any, float]:
    """The agent's request counts once they have not changed for ``quiet`` seconds (the watches'
    GETs aside, which only count reconnects)."""
    last: dict[Any, float] = {}
    since = asyncio.get_running_loop().time()

    async def steady() -> bool:
        nonlocal last, since
        now = await _requests(port)
        if now != last:
            last, since = now, asyncio.get_running_loop().time()
            return False
        return asyncio.get_running_loop().time() - since >= quiet

    await wait_for(steady, timeout=timeout, what="the agent's requests to settle", interval=0.2)
    return last
