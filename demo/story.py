"""The demo's story: a Configuration applied, devices going offline and online, each step checked.

Every step names what the cluster must show (Instances and their nodes, Running broker pods,
Services) and waits for it with a deadline, refreshing the screen as the cluster changes.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from akri_common.k8s.errors import ApiError, InvalidError
from akri_common.k8s.objects import CONFIGURATION, INSTANCE, NODE, POD, SERVICE, Kind, Objects
from demo.cluster import WEBHOOK_NAME, Demo
from demo.screen import Snapshot, render

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "debug-echo-configuration.yaml"
CRDS = Path(__file__).resolve().parents[1] / "helm" / "akri" / "crds"
CRD = Kind(
    "CustomResourceDefinition",
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    namespaced=False,
)
VWC = Kind(
    "ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    namespaced=False,
)
STEP_TIMEOUT = 60.0
NAMESPACE = "default"
TITLE = "Akri-py demo: you name it, Akri finds it, you use it"


@dataclass(frozen=True)
class Expect:
    instances: dict[str, list[str]]
    pods: int
    services: list[str]

    def met(self, snapshot: Snapshot) -> bool:
        return (
            snapshot.instance_nodes() == self.instances
            and len(snapshot.running_pods()) == self.pods
            and len(snapshot.pods) == self.pods
            and snapshot.service_names() == self.services
        )


class Story:
    def __init__(self, demo: Demo, objects: Objects, *, live: bool) -> None:
        self.demo = demo
        self.objects = objects
        self.live = live
        self.step = "starting"

    async def snapshot(self) -> Snapshot:
        instances, _ = await self.objects.list_all(INSTANCE, namespace=NAMESPACE)
        nodes, _ = await self.objects.list_all(NODE)
        pods, _ = await self.objects.list_all(
            POD, namespace=NAMESPACE, label_selector="controller=akri.sh"
        )
        services, _ = await self.objects.list_all(
            SERVICE, namespace=NAMESPACE, label_selector="controller=akri.sh"
        )
        return Snapshot(instances, nodes, pods, services, self._broker_env())

    def _broker_env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for node in self.demo.nodes:
            for path in node.run_options_dir.glob(f"{NAMESPACE}_*.json"):
                data = json.loads(path.read_text())
                name = path.name.split("_")[1]
                for container in data.get("containers", []):
                    value = container.get("env", {}).get("DEBUG_ECHO_DESCRIPTION")
                    if value:
                        env[name] = value
        return env

    def show(self, snapshot: Snapshot) -> None:
        text = render(snapshot, title=TITLE, step=self.step)
        if self.live:
            print("\x1b[2J\x1b[H" + text, end="", flush=True)
        else:
            print(text, flush=True)

    async def until(self, step: str, expect: Expect) -> None:
        self.step = step
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            snapshot = await self.snapshot()
            if self.live:
                self.show(snapshot)
            if expect.met(snapshot):
                if not self.live:
                    self.show(snapshot)
                return
            if time.monotonic() > deadline:
                self.show(snapshot)
                raise TimeoutError(f"step {step!r} not seen within {STEP_TIMEOUT:g}s")
            await asyncio.sleep(0.5)  # screen refresh pace

    async def setup(self) -> None:
        for path in sorted(CRDS.glob("*.yaml")):
            await self.objects.apply(
                CRD, yaml.safe_load(path.read_text()), field_manager="akri-demo", force=True
            )
        await _retry(
            lambda: self.objects.list_all(CONFIGURATION), what="the Akri CRDs to be served"
        )
        await self.objects.apply(
            VWC, self._webhook_configuration(), field_manager="akri-demo", force=True
        )

    def _webhook_configuration(self) -> dict[str, Any]:
        return {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": WEBHOOK_NAME},
            "webhooks": [
                {
                    "name": f"{WEBHOOK_NAME}.default.svc",
                    "clientConfig": {
                        "url": f"https://127.0.0.1:{self.demo.webhook_port}/validate",
                        "caBundle": self.demo.webhook_ca.decode(),
                    },
                    "rules": [
                        {
                            "apiGroups": ["akri.sh"],
                            "apiVersions": ["v0"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["configurations"],
                            "scope": "*",
                        }
                    ],
                    "admissionReviewVersions": ["v1"],
                    "sideEffects": "None",
                    "failurePolicy": "Fail",
                    "timeoutSeconds": 5,
                }
            ],
        }

    async def refused_typo(self) -> str:
        """Applies the example with a typo in the broker pod spec; returns the webhook's refusal."""
        bad = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))
        bad["metadata"]["name"] = "typo"
        bad["spec"]["brokerSpec"]["brokerPodSpec"]["containers"][0]["imagePullPolicyy"] = "Always"
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                await self.objects.apply(CONFIGURATION, bad, field_manager="akri-demo", force=True)
            except InvalidError as err:
                return str(err)
            except ApiError:  # the webhook is not serving yet (failurePolicy Fail)
                await asyncio.sleep(0.5)  # retry pace
                continue
            await self.objects.delete(CONFIGURATION, namespace=NAMESPACE, name="typo")
            await asyncio.sleep(0.5)  # the webhook configuration is not enforced yet
        raise TimeoutError("the webhook did not refuse the typo")

    async def run(self, *, rounds: int | None) -> None:
        await self.setup()
        refusal = await self.refused_typo()
        print(f"webhook refused a Configuration with a typo:\n  {refusal}\n", flush=True)
        await self.objects.apply(
            CONFIGURATION,
            yaml.safe_load(EXAMPLE.read_text()),
            field_manager="akri-demo",
            force=True,
        )
        first, second = self.demo.nodes
        both = sorted([first.name, second.name])
        names = ["akri-debug-echo-8120fe", "akri-debug-echo-a19705"]
        services = sorted([f"{n}-svc" for n in names] + ["akri-debug-echo-svc"])
        everywhere = Expect({n: both for n in names}, pods=4, services=services)
        await self.until(
            "foo0 and foo1 online on both nodes: 2 Instances, 4 brokers, 3 Services", everywhere
        )
        done = 0
        while rounds is None or done < rounds:
            first.availability.write_text("OFFLINE\n")
            await self.until(
                f"OFFLINE on {first.name}: it leaves the Instances and loses its brokers",
                Expect({n: [second.name] for n in names}, pods=2, services=services),
            )
            second.availability.write_text("OFFLINE\n")
            await self.until(
                "OFFLINE everywhere: no Instances, brokers or Services",
                Expect({}, pods=0, services=[]),
            )
            first.availability.unlink()
            second.availability.unlink()
            await self.until("back online on both nodes: everything restored", everywhere)
            done += 1


async def _retry(call: Callable[[], Any], *, what: str) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        try:
            await call()
        except ApiError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} within {STEP_TIMEOUT:g}s") from None
            await asyncio.sleep(0.2)  # retry pace
        else:
            return
