"""The demo's story, as a user lives it with the Helm chart on a 2-node container cluster:
``helm install`` → Instances appear → brokers Running with their device → a device goes away and
comes back → ``helm upgrade`` adds ONVIF (a simulated camera) → ``helm uninstall`` leaves a clean
cluster.

Every step names what the cluster must show (Akri's pods, Instances with their nodes, Running
brokers whose container holds the device's env, Services) and waits for it with a deadline,
refreshing the screen as the cluster changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml
from akri_testbed.cluster import container_node

from akri_common.k8s.errors import ApiError
from akri_common.k8s.objects import CONFIGURATION, INSTANCE, NODE, POD, SERVICE, Objects
from demo.cluster import CAMERA_IP, CHART, NAMESPACE, RELEASE, VALUES, CommandError, Demo
from demo.screen import DEVICE_PROPERTIES, Snapshot, render

STEP_TIMEOUT = 180.0
INSTALL_TIMEOUT = "300s"
AVAILABILITY_FILE = "/tmp/debug-echo-availability.txt"  # the debugEcho handler's default
TITLE = "Akri-py demo: helm install, you name it, Akri finds it, you use it"
PARTS = "app.kubernetes.io/part-of=akri"
BROKERS = "controller=akri.sh"
AGENT = "akri-agent"
DEBUG_ECHO = "akri-debug-echo-discovery"
ONVIF = "akri-onvif-discovery"
T = TypeVar("T")


@dataclass(frozen=True)
class Expect:
    """What a step waits for: each device with its nodes, that many Running brokers (each showing
    its device inside the container), that many Services, and Akri's components Running."""

    devices: dict[str, list[str]]
    brokers: int
    services: int
    parts: dict[str, list[str]] = field(default_factory=dict)
    only_parts: bool = False  # no Akri pod besides ``parts`` (none Pending or Terminating)

    def met(self, snapshot: Snapshot) -> bool:
        running = snapshot.running_parts()
        if self.only_parts and (
            running != self.parts or len(snapshot.parts) != sum(map(len, self.parts.values()))
        ):
            return False
        return (
            snapshot.device_nodes() == self.devices
            and len(snapshot.pods) == self.brokers
            and len(snapshot.running_pods()) == self.brokers
            and len(snapshot.brokers_with_device()) == self.brokers
            and len(snapshot.services) == self.services
            and all(running.get(name) == nodes for name, nodes in self.parts.items())
        )


def debug_echo(*descriptions: str, nodes: list[str]) -> dict[str, list[str]]:
    return {f"DEBUG_ECHO_DESCRIPTION={d}": nodes for d in descriptions}


def parse_env(text: str) -> str:
    """The device-naming ``KEY=value`` lines of ``env`` output, joined (pure)."""
    found = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return " ".join(f"{k}={found[k]}" for k in DEVICE_PROPERTIES if k in found)


class Story:
    def __init__(
        self, demo: Demo, objects: Objects, *, live: bool, step_pause: float = 0.0
    ) -> None:
        self.demo = demo
        self.step_pause = step_pause
        self.objects = objects
        self.live = live
        self.step = "starting"
        self._env: dict[str, tuple[str, str]] = {}  # pod name -> (uid, env seen inside)

    async def snapshot(self) -> Snapshot:
        instances, _ = await self.objects.list_all(INSTANCE, namespace=NAMESPACE)
        nodes, _ = await self.objects.list_all(NODE)
        pods, _ = await self.objects.list_all(POD, namespace=NAMESPACE, label_selector=BROKERS)
        services, _ = await self.objects.list_all(
            SERVICE, namespace=NAMESPACE, label_selector=BROKERS
        )
        parts, _ = await self.objects.list_all(POD, namespace=NAMESPACE, label_selector=PARTS)
        parts = [p for p in parts if "akri.sh/instance" not in p["metadata"].get("labels", {})]
        return Snapshot(instances, nodes, pods, services, await self._broker_env(pods), parts)

    async def _broker_env(self, pods: list[dict[str, Any]]) -> dict[str, str]:
        """The device's env as each Running broker's container sees it (``kubectl exec env``),
        asked once per pod."""
        wanted = {
            p["metadata"]["name"]: p["metadata"]["uid"]
            for p in pods
            if p.get("status", {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")
        }

        async def ask(name: str, uid: str) -> None:
            try:
                out = await self.demo.kubectl(
                    "exec", "-n", NAMESPACE, name, "--", "env", timeout=20
                )
            except (CommandError, TimeoutError):
                return  # not ready for exec yet: asked again on the next refresh
            self._env[name] = (uid, parse_env(out))

        await asyncio.gather(
            *(ask(n, u) for n, u in wanted.items() if self._env.get(n, ("", ""))[0] != u)
        )
        return {n: self._env[n][1] for n in wanted if n in self._env}

    def show(self, snapshot: Snapshot) -> None:
        text = render(snapshot, title=TITLE, step=self.step)
        if self.live:
            print("\x1b[2J\x1b[H" + text, end="", flush=True)
        else:
            print(text, flush=True)

    def say(self, text: str) -> None:
        if not self.live:
            print(f"--- {text}", flush=True)

    async def until(self, step: str, expect: Expect, *, timeout: float = STEP_TIMEOUT) -> Snapshot:
        self.step = step
        deadline = time.monotonic() + timeout
        while True:
            try:
                snapshot = await self.snapshot()
            except ApiError:
                snapshot = None  # the CRDs are not served yet (before the install)
            if snapshot is not None:
                if self.live:
                    self.show(snapshot)
                if expect.met(snapshot):
                    if not self.live:
                        self.show(snapshot)
                    return snapshot
            if time.monotonic() > deadline:
                if snapshot is not None:
                    self.show(snapshot)
                raise TimeoutError(f"step {step!r} not seen within {timeout:g}s")
            await asyncio.sleep(1.0)  # screen refresh pace

    async def while_watching(self, step: str, command: Awaitable[T]) -> T:
        """Runs ``command`` (helm) while the screen follows the cluster."""
        self.step = step
        if not self.live:
            print(f"step: {step}", flush=True)
        task = asyncio.ensure_future(command)
        try:
            while not task.done():
                if self.live:
                    with contextlib.suppress(ApiError):  # the CRDs are not served yet
                        self.show(await self.snapshot())
                await asyncio.wait({task}, timeout=1.0)  # screen refresh pace
            return task.result()
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def handler_pod(self, node: str) -> str:
        out = await self.demo.kubectl(
            "get", "pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/name={DEBUG_ECHO}",
            "--field-selector", f"spec.nodeName={node}", "-o", "jsonpath={.items[0].metadata.name}",
        )  # fmt: skip
        return out.strip()

    async def availability(self, node: str, content: str) -> None:
        """Writes debugEcho's availability file inside ``node``'s handler pod."""
        pod = await self.handler_pod(node)
        code = f"open({AVAILABILITY_FILE!r}, 'w').write({content!r})"
        await self.demo.kubectl("exec", "-n", NAMESPACE, pod, "--", "python3", "-c", code)
        self.say(f"kubectl exec {pod} -- write {content.strip()!r} into {AVAILABILITY_FILE}")

    async def refused_typo(self) -> str:
        """Applies a Configuration with a typo in the broker pod spec; returns the chart's
        webhook's refusal."""
        bad = {
            "apiVersion": "akri.sh/v0",
            "kind": "Configuration",
            "metadata": {"name": "typo", "namespace": NAMESPACE},
            "spec": {
                "discoveryHandler": {"name": "debugEcho", "discoveryDetails": "descriptions: [a]"},
                "brokerSpec": {
                    "brokerPodSpec": {
                        "containers": [{"name": "b", "image": "x", "imagePullPolicyy": "Always"}]
                    }
                },
            },
        }
        path = self.demo.directory / "typo.yaml"
        path.write_text(yaml.safe_dump(bad))
        try:
            await self.demo.kubectl("apply", "-f", str(path))
        except CommandError as err:
            return str(err).split(": ", 1)[-1]
        await self.demo.kubectl("delete", "-f", str(path), check=False)
        raise TimeoutError("the webhook admitted a Configuration with a typo")

    def helm(self, verb: str, *args: str) -> Awaitable[str]:
        return self.demo.helm(verb, RELEASE, *args, "-n", NAMESPACE, "--timeout", INSTALL_TIMEOUT)

    async def uids(self) -> Mapping[str, str]:
        pods, _ = await self.objects.list_all(POD, namespace=NAMESPACE, label_selector=PARTS)
        return {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods}

    async def pause(self) -> None:
        """Live: a few seconds on each step's screen before the next (it keeps refreshing)."""
        deadline = time.monotonic() + self.step_pause
        while time.monotonic() < deadline:
            self.show(await self.snapshot())
            await asyncio.sleep(1.0)  # screen refresh pace

    async def run(self) -> None:
        first, second = self.demo.nodes
        both = sorted([first, second])
        debug_values = str(VALUES / "debug-echo.yaml")
        onvif_values = str(VALUES / "onvif.yaml")
        install = (
            f"helm install {RELEASE} helm/akri -n {NAMESPACE} -f examples/helm/debug-echo.yaml"
        )
        await self.while_watching(
            install,
            self.helm("install", str(CHART), "--create-namespace", "--wait", "-f", debug_values),
        )
        everywhere = Expect(
            debug_echo("foo0", "foo1", nodes=both),
            brokers=4,
            services=3,
            parts={AGENT: both, DEBUG_ECHO: both},
        )
        await self.until(
            "installed: foo0 and foo1 seen by both nodes, a broker per device and node", everywhere
        )
        refusal = await self.refused_typo()
        print(f"webhook refused a Configuration with a typo:\n  {refusal}\n", flush=True)
        await self.pause()
        await self.availability(first, "OFFLINE\n")
        await self.until(
            f"OFFLINE on {first}: it leaves the Instances and loses its brokers",
            Expect(debug_echo("foo0", "foo1", nodes=[second]), brokers=2, services=3),
        )
        await self.pause()
        await self.availability(second, "OFFLINE\n")
        await self.until(
            "OFFLINE everywhere: the devices are gone, no Instances, brokers or Services",
            Expect({}, brokers=0, services=0),
        )
        await self.pause()
        await self.availability(first, "ONLINE\n")
        await self.availability(second, "ONLINE\n")
        await self.until("back online on both nodes: everything restored", everywhere)
        await self.pause()
        before = await self.uids()
        self.demo.start_camera()
        self.say(f"a simulated ONVIF camera on the node network at {CAMERA_IP}")
        await self.while_watching(
            "helm upgrade ... -f examples/helm/onvif.yaml --set onvif.configuration.capacity=2:"
            " adding ONVIF (a broker on each node that sees the camera)",
            self.helm(
                "upgrade",
                str(CHART),
                "--wait",
                "-f",
                debug_values,
                "-f",
                onvif_values,
                "--set",
                "onvif.configuration.capacity=2",
            ),
        )
        camera = {f"ONVIF_DEVICE_IP_ADDRESS={CAMERA_IP}": both}
        await self.until(
            "ONVIF added: the camera is an Instance with its brokers, nothing else restarted",
            Expect(
                {**debug_echo("foo0", "foo1", nodes=both), **camera},
                brokers=6,
                services=5,
                parts={AGENT: both, DEBUG_ECHO: both, ONVIF: both},
            ),
        )
        after = await self.uids()
        restarted = sorted(name for name, uid in before.items() if after.get(name) != uid)
        if restarted:
            raise TimeoutError(f"the upgrade restarted {', '.join(restarted)}")
        print(f"kept their UIDs across the upgrade: {len(before)} Akri pods", flush=True)
        await self.pause()
        await self.while_watching(
            f"helm uninstall {RELEASE} -n {NAMESPACE}", self.helm("uninstall", "--wait")
        )
        await self.until(
            "uninstalled: nothing of Akri left",
            Expect({}, brokers=0, services=0, only_parts=True),
        )
        deadline = time.monotonic() + STEP_TIMEOUT
        while left := await self.leftovers():
            if time.monotonic() > deadline:
                raise TimeoutError(f"helm uninstall left {left} after {STEP_TIMEOUT:g}s")
            if self.live:
                self.show(await self.snapshot())
            await asyncio.sleep(1.0)  # the pods' termination grace; screen refresh pace
        print("clean cluster: no Configuration, Instance, pod, Service or workload of the release;"
              " the CRDs stay", flush=True)  # fmt: skip

    async def leftovers(self) -> str:
        configurations, _ = await self.objects.list_all(CONFIGURATION)
        found = [f"configuration/{c['metadata']['name']}" for c in configurations]
        out = await self.demo.kubectl(
            "get", "pods,services,daemonsets,deployments,jobs", "-n", NAMESPACE,
            "-l", "app.kubernetes.io/instance=" + RELEASE, "-o", "name",
        )  # fmt: skip
        parts, _ = await self.objects.list_all(POD, namespace=NAMESPACE, label_selector=PARTS)
        found += out.split() + [f"pod/{p['metadata']['name']}" for p in parts]
        for node in self.demo.nodes:
            plugins = container_node(self.demo.testbed, node).device_plugin_dir
            found += [
                f"{node}:{path.name}"
                for path in plugins.glob("*.sock")
                if path.name != "kubelet.sock"
            ]
        return ", ".join(sorted(set(found)))
