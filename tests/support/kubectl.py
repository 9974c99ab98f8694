"""``kubectl`` against a testbed, as a user types it: apply, get, logs, exec, and waiting on state.

Container-node tests drive the cluster the way people do, with the real ``kubectl`` built with the
testbed; every call has a timeout and a failure carries kubectl's own message.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from akri_testbed.binaries import locate
from akri_testbed.cluster import Cluster

CALL_TIMEOUT_S = 60.0


class KubectlError(RuntimeError):
    """kubectl exited non-zero; the message holds its command and stderr."""


@dataclass(frozen=True)
class Kubectl:
    """kubectl bound to one testbed's kubeconfig."""

    binary: Path
    kubeconfig: Path

    @classmethod
    def of(cls, cluster: Cluster) -> Kubectl:
        return cls(locate(build=False)["kubectl"], cluster.kubeconfig)

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        timeout: float = CALL_TIMEOUT_S,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise KubectlError(f"kubectl {' '.join(args)}: {result.stderr.strip()[:2000]}")
        return result

    def __call__(
        self, *args: str, stdin: str | None = None, timeout: float = CALL_TIMEOUT_S
    ) -> str:
        return self.run(*args, stdin=stdin, timeout=timeout).stdout

    def apply(self, *objects: dict[str, Any]) -> None:
        self("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        args = ["get", kind, name, "-o", "json"]
        if namespace:
            args += ["-n", namespace]
        result = self.run(*args, check=False)
        if result.returncode != 0:
            if "NotFound" in result.stderr:
                return None
            raise KubectlError(f"kubectl {' '.join(args)}: {result.stderr.strip()[:2000]}")
        value: dict[str, Any] = json.loads(result.stdout)
        return value

    def items(
        self, kind: str, namespace: str | None = None, *selector: str
    ) -> list[dict[str, Any]]:
        args = ["get", kind, "-o", "json", *(("-l", s) for s in selector)]
        flat = [a for part in args for a in ((part,) if isinstance(part, str) else part)]
        flat += ["-n", namespace] if namespace else ["-A"]
        items: list[dict[str, Any]] = json.loads(self(*flat))["items"]
        return items

    def exec(self, namespace: str, pod: str, *command: str, container: str | None = None) -> str:
        args = ["exec", "-n", namespace, pod]
        if container:
            args += ["-c", container]
        return self(*args, "--", *command)


def wait_until(condition: Callable[[], Any], *, what: str, timeout: float) -> Any:
    """Polls ``condition`` (a kubectl read) until it returns a truthy value; returns that value.
    Raises AssertionError naming ``what`` and the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = condition()
        except KubectlError as err:
            last = err
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not after {timeout:.0f} s (last: {str(last)[:1000]})")
        time.sleep(0.25)  # wait-ok: poll interval of a loop with a deadline


def pod(
    name: str,
    image: str,
    *,
    node: str | None = None,
    command: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    resources: dict[str, Any] | None = None,
    namespace: str = "default",
    **spec: Any,
) -> dict[str, Any]:
    """A one-container Pod manifest."""
    container: dict[str, Any] = {"name": "main", "image": image, "imagePullPolicy": "IfNotPresent"}
    if command is not None:
        container["command"] = list(command)
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if resources:
        container["resources"] = resources
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name}},
        "spec": {"containers": [container], "terminationGracePeriodSeconds": 2, **spec},
    }
    if node:
        body["spec"]["nodeName"] = node
    return body


def phase(kubectl: Kubectl, name: str, namespace: str = "default") -> str:
    found = kubectl.get("pod", name, namespace)
    return "" if found is None else str(found.get("status", {}).get("phase", ""))


def running(
    kubectl: Kubectl, name: str, namespace: str = "default", timeout: float = 90
) -> dict[str, Any]:
    """Waits until pod ``name`` is Running with every container ready; returns it."""

    def ready() -> dict[str, Any] | None:
        found = kubectl.get("pod", name, namespace)
        if found is None or found.get("status", {}).get("phase") != "Running":
            return None
        statuses = found["status"].get("containerStatuses", [])
        return found if statuses and all(s.get("ready") for s in statuses) else None

    result: dict[str, Any] = wait_until(
        ready, what=f"pod {namespace}/{name} Running", timeout=timeout
    )
    return result
