"""The Go discovery handler (examples/handlers/go) with our real agent and the testbed's API server.

The handler is built with ``examples/handlers/go/build.sh`` (a static binary, Go caches outside
the tree) and runs as a real process; it registers over the agent's Unix socket, its devices
become Instances, and it registers again by itself when the agent restarts. Its refusals of bad
``discoveryDetails`` are checked over real gRPC with our own Python stubs.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import grpc
import pytest
import yaml
from akri_testbed.cluster import Cluster

from akri_common.crds.naming import device_hash
from akri_common.ids import DeviceId, NodeName
from akri_common.k8s.objects import CONFIGURATION, Objects
from akri_proto.discovery.v0 import discovery_pb2 as pb
from akri_proto.discovery.v0 import discovery_pb2_grpc as pb_grpc
from tests.support import kube
from tests.support.agents import Namespaced, delete_configurations, start_agent
from tests.support.kube import objects
from tests.support.processes import Child, ProcessGroup, wait_for

__all__ = ["objects"]

GO_DIR = Path(__file__).resolve().parents[2] / "examples" / "handlers" / "go"
HANDLER = "go-names"
CONFIG = "akri-go-names"


@pytest.fixture(scope="session")
def go_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The handler, built once per session by the example's own build script."""
    out = tmp_path_factory.mktemp("go-handler") / "names-discovery-handler"
    result = subprocess.run(
        ["bash", str(GO_DIR / "build.sh"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"go build failed:\n{result.stderr[-4000:]}"
    return out


@pytest.fixture
async def scope(objects: Objects) -> Namespaced:
    namespace = f"t-go-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, namespace)
    return Namespaced(objects, namespace)


async def start_go_handler(processes: ProcessGroup, binary: Path, handlers_dir: Path) -> Child:
    return await processes.start_command(
        [str(binary)],
        env={"DISCOVERY_HANDLERS_DIRECTORY": str(handlers_dir), "DISCOVERY_HANDLER_NAME": HANDLER},
        name="go-handler",
    )


async def apply_names(scope: Namespaced, *names: str) -> None:
    body = kube.configuration(CONFIG, scope.namespace)
    body["spec"]["discoveryHandler"] = {
        "name": HANDLER,
        "discoveryDetails": yaml.safe_dump({"names": list(names)}),
    }
    await scope.objects.apply(CONFIGURATION, body, field_manager="akri-tests", force=True)


async def wait_devices(scope: Namespaced, node: str, *names: str, timeout: float = 15) -> None:
    """Waits until the namespace's Instances are exactly one per name on ``node``, each carrying
    its name in ``brokerProperties`` as the handler reported it."""
    expected = {
        f"{CONFIG}-{device_hash(DeviceId(name), shared=False, node=NodeName(node))}": name
        for name in names
    }

    async def matches() -> bool:
        found = await kube.instances(scope.objects, scope.namespace)
        return {
            key: item["spec"]["brokerProperties"].get("GO_DEVICE_NAME")
            for key, item in found.items()
            if item["spec"]["nodes"] == [node] and item["spec"]["shared"] is False
        } == expected and len(found) == len(expected)

    await wait_for(matches, timeout=timeout, what=f"Instances for {names} on {node}", interval=0.1)


async def test_go_handler_devices_become_instances_and_survive_an_agent_restart(
    testbed: Cluster, scope: Namespaced, processes: ProcessGroup, go_binary: Path
) -> None:
    node = testbed.nodes[0]
    handlers_dir = processes.scratch_dir()
    # The handler starts first: it retries until the agent's registration socket appears.
    handler = await start_go_handler(processes, go_binary, handlers_dir)
    await wait_for(
        (handlers_dir / f"{HANDLER}.sock").exists, timeout=10, what="the Go handler's socket"
    )
    agent = await start_agent(processes, testbed, node, handlers_dir)
    try:
        await apply_names(scope, "alpha", "beta")
        await wait_devices(scope, node.name, "alpha", "beta")

        # A new agent process: the handler sees agent-registration.sock created again and
        # registers at once; a change of discoveryDetails then reaches it through the new agent.
        await processes.stop(agent)
        agent = await start_agent(processes, testbed, node, handlers_dir, what="new agent socket")
        await apply_names(scope, "alpha", "gamma")
        await wait_devices(scope, node.name, "alpha", "gamma")
        log = handler.log()
        assert '"msg":"registered"' in log
        assert log.count('"msg":"registered"') >= 2, log
    finally:
        await delete_configurations(scope)
    assert await processes.stop(handler) == 0
    assert not (handlers_dir / f"{HANDLER}.sock").exists()


@pytest.mark.parametrize(
    ("details", "named"),
    [
        ("names: [a, a]", 'names[1]: "a" is listed twice'),
        ("names: ['']", "names[0]: must not be empty"),
        ("nmes: [a]", "field nmes not found"),
        ("", "names is required"),
    ],
)
async def test_go_handler_refuses_bad_details_naming_the_field(
    processes: ProcessGroup, go_binary: Path, details: str, named: str
) -> None:
    handlers_dir = processes.scratch_dir()
    await start_go_handler(processes, go_binary, handlers_dir)
    socket = handlers_dir / f"{HANDLER}.sock"
    await wait_for(socket.exists, timeout=10, what="the Go handler's socket")
    async with grpc.aio.insecure_channel(f"unix://{socket}") as channel:
        stream = pb_grpc.DiscoveryHandlerStub(channel).Discover(
            pb.DiscoverRequest(discovery_details=details), timeout=10
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stream.read()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert named in (caught.value.details() or "")


def test_go_handler_is_formatted_vetted_and_its_unit_tests_pass() -> None:
    result = subprocess.run(
        ["bash", str(GO_DIR / "build.sh"), "check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_go_protocol_code_matches_the_proto() -> None:
    result = subprocess.run(
        ["bash", str(GO_DIR / "build.sh"), "generate", "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
