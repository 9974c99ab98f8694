"""The Helm chart (helm/akri) without container nodes: lint, rendering, schema, RBAC, Configurations.

``helm`` is the testbed's binary. The Configurations the chart renders are checked against the
real API server with the CRDs installed (server-side dry run) and against our webhook's
validation with the cluster's own schemas.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from akri_testbed.binaries import locate
from akri_testbed.cluster import Cluster

from akri_common.k8s.objects import Objects
from akri_webhook import source
from akri_webhook.validation import validate_configuration
from tests.support import kube
from tests.support.helm import HelmFailedError, lint, of_kind, render
from tests.support.kube import objects

__all__ = ["objects"]

DATA = Path(__file__).resolve().parents[1] / "data" / "helm"
UPSTREAM_EXAMPLES = sorted(DATA.glob("upstream-*.yaml"))
OUR_EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "helm").glob("*.yaml"))
BROKER = {"repository": "akri-py/debug-echo-broker", "tag": "0.1.0"}

#: One values file per protocol, each with its discovery handler and its Configuration.
PROTOCOLS: dict[str, dict[str, Any]] = {
    "debugEcho": {
        "debugEcho": {
            "discovery": {"enabled": True},
            "configuration": {"enabled": True, "brokerPod": {"image": BROKER}},
        }
    },
    "udev": {
        "udev": {
            "discovery": {"enabled": True},
            "configuration": {
                "enabled": True,
                "discoveryDetails": {"udevRules": ['KERNEL=="video[0-9]*"']},
                "brokerPod": {"image": {"repository": "akri-py/udev-broker", "tag": "0.1.0"}},
            },
        }
    },
    "onvif": {
        "onvif": {
            "discovery": {"enabled": True},
            "configuration": {
                "enabled": True,
                "discoveryProperties": [
                    {
                        "name": "username_default",
                        "valueFrom": {
                            "secretKeyRef": {"name": "onvif", "namespace": "akri", "key": "user"}
                        },
                    }
                ],
                "brokerJob": {"image": {"repository": "busybox"}, "command": ["true"]},
            },
        }
    },
    "opcua": {"opcua": {"discovery": {"enabled": True}, "configuration": {"enabled": True}}},
    "custom": {
        "custom": {
            "discovery": {
                "enabled": True,
                "name": "akri-go-names-discovery",
                "image": {"repository": "akri-py/go-names-discovery", "tag": "0.1.0"},
            },
            "configuration": {
                "enabled": True,
                "name": "akri-go-names",
                "discoveryHandlerName": "go-names",
                "discoveryDetails": "names: [alpha, beta]\n",
                "brokerPod": {"image": BROKER},
            },
        }
    },
    "prometheus": {"prometheus": {"enabled": True}},
}


def labels_of(manifest: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = manifest["metadata"].get("labels") or {}
    return labels


def test_lint_passes_with_the_default_values() -> None:
    lint()


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_lint_passes_with_each_protocol_enabled(protocol: str) -> None:
    lint(PROTOCOLS[protocol])


@pytest.mark.parametrize("example", OUR_EXAMPLES, ids=lambda p: p.stem)
def test_lint_passes_with_our_example_values(example: Path) -> None:
    lint(example)


@pytest.mark.parametrize("example", UPSTREAM_EXAMPLES, ids=lambda p: p.stem)
def test_upstream_example_values_render(example: Path) -> None:
    manifests = render(example)
    assert of_kind(manifests, "DaemonSet")["akri-agent-daemonset"]
    # Upstream's labels on every object of the release, hooks included.
    for manifest in manifests:
        labels = labels_of(manifest)
        assert labels.get("app.kubernetes.io/part-of") == "akri", manifest["metadata"]["name"]
        assert labels.get("app.kubernetes.io/instance") == "akri", manifest["metadata"]["name"]
        assert labels.get("app.kubernetes.io/managed-by") == "Helm", manifest["metadata"]["name"]


def test_upstream_examples_mean_what_they_say() -> None:
    """Spot checks of the meaning of upstream's keys in the rendered objects."""
    udev = render(DATA / "upstream-udev-video.yaml")
    config = of_kind(udev, "Configuration")["akri-udev-video"]
    details = yaml.safe_load(config["spec"]["discoveryHandler"]["discoveryDetails"])
    assert details == {
        "groupRecursive": False,
        "permissions": "rwm",
        "udevRules": [
            'KERNEL=="video[0-9]*"',
            'KERNEL=="video[0-9]*", ENV{ID_V4L_CAPABILITIES}==":capture:"',
        ],
    }
    (broker,) = config["spec"]["brokerSpec"]["brokerPodSpec"]["containers"]
    assert broker["name"] == "akri-udev-video-broker"
    assert broker["image"] == "ghcr.io/project-akri/akri/udev-video-broker:latest"
    assert broker["resources"]["limits"]["{{PLACEHOLDER}}"] == "1"
    assert broker["securityContext"] == {"privileged": False}
    assert config["spec"]["instanceServiceSpec"]["ports"][0]["name"] == "grpc"
    agent = of_kind(udev, "DaemonSet")["akri-agent-daemonset"]["spec"]["template"]["spec"]
    assert agent["containers"][0]["image"] == "akri-py/agent:latest"  # useLatestContainers
    assert agent["imagePullSecrets"] == [{"name": "regcred"}]
    handler = of_kind(udev, "DaemonSet")["akri-udev-discovery-daemonset"]["spec"]["template"]
    assert handler["metadata"]["labels"]["app.kubernetes.io/component"] == "discovery-handler"
    assert {"name": "udev", "hostPath": {"path": "/run/udev"}} in handler["spec"]["volumes"]

    onvif = render(DATA / "upstream-onvif.yaml")
    config = of_kind(onvif, "Configuration")["akri-onvif"]
    assert config["spec"]["capacity"] == 2
    assert "instanceServiceSpec" not in config["spec"]
    assert config["spec"]["discoveryHandler"]["discoveryProperties"][0]["valueFrom"] == {
        "secretKeyRef": {
            "name": "onvif-auth-secret",
            "namespace": "default",
            "key": "device_credential_list",
            "optional": False,
        }
    }
    assert set(of_kind(onvif, "PodMonitor")) == {
        "akri-agent-metrics",
        "akri-controller-metrics",
        "akri-webhook-configuration-metrics",
    }

    ops = render(DATA / "upstream-operations.yaml")
    vwc = of_kind(ops, "ValidatingWebhookConfiguration")["akri-webhook-configuration"]
    assert vwc["webhooks"][0]["clientConfig"]["caBundle"] == (
        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
    )
    assert "Secret" not in {m["kind"] for m in ops}  # the operator supplies it with a caBundle
    assert "Job" not in {m["kind"] for m in ops}  # cleanupHook.enabled=false
    controller = of_kind(ops, "Deployment")["akri-controller-deployment"]["spec"]["template"]
    assert controller["spec"]["nodeSelector"] == {
        "kubernetes.io/os": "linux",
        "node-role.kubernetes.io/control-plane": "",
        "kubernetes.io/arch": "amd64",
    }
    assert {"key": "dedicated", "operator": "Equal", "value": "akri", "effect": "NoSchedule"} in (
        controller["spec"]["tolerations"]
    )
    assert controller["spec"]["containers"][0]["image"] == "akri-py/controller:0.1.0-dev"


def test_agent_full_is_refused_with_a_message() -> None:
    with pytest.raises(HelmFailedError) as failed:
        render({"agent": {"full": True}})
    assert "agent.full" in failed.value.message


@pytest.mark.parametrize(
    ("values", "path", "key"),
    [
        ({"agnet": {"enabled": True}}, "", "agnet"),
        ({"agent": {"resources": {"memoryLimt": "1Gi"}}}, "/agent/resources", "memoryLimt"),
        ({"debugEcho": {"configuration": {"capacity": "two"}}}, "/debugEcho/configuration/capacity", ""),
        ({"udev": {"configuration": {"discoveryDetails": {"permissions": "rx"}}}},
         "/udev/configuration/discoveryDetails/permissions", ""),
        ({"onvif": {"discovery": {"enabled": "yes"}}}, "/onvif/discovery/enabled", ""),
        ({"custom": {"configuration": {"brokerPod": {"image": {"repositry": "x"}}}}},
         "/custom/configuration/brokerPod/image", "repositry"),
        ({"controller": {"resources": {"memoryLimit": "lots"}}}, "/controller/resources/memoryLimit", ""),
    ],
)  # fmt: skip
def test_a_misspelt_or_mistyped_key_is_refused_with_its_path(
    values: dict[str, Any], path: str, key: str
) -> None:
    with pytest.raises(HelmFailedError) as failed:
        render(values)
    message = failed.value.message
    assert "values don't meet the specifications of the schema" in message, message
    assert f"at '{path}'" in message or (not path and "at ''" in message), message
    assert key in message, message


def test_rbac_grants_each_component_exactly_the_verbs_it_uses() -> None:
    manifests = render()
    roles = {
        name: {
            (group, resource): sorted(rule["verbs"])
            for rule in role["rules"]
            for group in rule.get("apiGroups", ["<url>"])
            for resource in rule.get("resources", rule.get("nonResourceURLs", []))
        }
        for name, role in of_kind(manifests, "ClusterRole").items()
    }
    assert roles == {
        "akri-agent-role": {
            ("akri.sh", "configurations"): ["list", "patch", "watch"],
            ("akri.sh", "instances"): ["create", "delete", "list", "patch", "watch"],
            ("", "secrets"): ["get"],
            ("", "configmaps"): ["get"],
        },
        "akri-controller-role": {
            ("akri.sh", "instances"): ["get", "list", "patch", "watch"],
            ("akri.sh", "configurations"): ["list", "watch"],
            ("", "pods"): ["create", "delete", "list", "watch"],
            ("batch", "jobs"): ["create", "delete", "list", "watch"],
            ("", "services"): ["create", "delete", "list", "patch", "watch"],
            ("", "nodes"): ["list", "watch"],
        },
        "akri-webhook-configuration-role": {
            ("<url>", "/openapi/v3"): ["get"],
            ("<url>", "/openapi/v3/*"): ["get"],
        },
        "akri-helm-cleanup-hook-role": {
            ("akri.sh", "configurations"): ["delete", "list", "watch"],
        },
    }
    assert not of_kind(manifests, "Role")  # upstream's webhook Role (pods: get) is not needed
    bindings = {
        name: (b["roleRef"]["name"], [(s["kind"], s["name"]) for s in b["subjects"]])
        for name, b in of_kind(manifests, "ClusterRoleBinding").items()
    }
    assert bindings == {
        "akri-agent-binding": ("akri-agent-role", [("ServiceAccount", "akri-agent-sa")]),
        "akri-controller-binding": (
            "akri-controller-role",
            [("ServiceAccount", "akri-controller-sa")],
        ),
        "akri-webhook-configuration-binding": (
            "akri-webhook-configuration-role",
            [("ServiceAccount", "akri-webhook-configuration")],
        ),
        "akri-helm-cleanup-hook-binding": (
            "akri-helm-cleanup-hook-role",
            [("ServiceAccount", "akri-helm-cleanup-hook-sa")],
        ),
    }
    accounts = {
        m["spec"]["template"]["spec"].get("serviceAccountName")
        for m in manifests
        if m["kind"] in ("DaemonSet", "Deployment", "Job")
    }
    assert accounts == {
        "akri-agent-sa",
        "akri-controller-sa",
        "akri-webhook-configuration",
        "akri-helm-cleanup-hook-sa",
    }
    assert not of_kind(render({"rbac": {"enabled": False}}), "ClusterRole")


def test_workloads_carry_placement_and_runtime_settings() -> None:
    values = {
        "imagePullSecrets": [{"name": "pull"}],
        "agent": {"priorityClassName": "system-node-critical", "tolerations": [{"operator": "Exists"}]},
        "debugEcho": {"discovery": {"enabled": True, "nodeSelectors": {"edge": "yes"}}},
    }  # fmt: skip
    manifests = render(values)
    agent = of_kind(manifests, "DaemonSet")["akri-agent-daemonset"]["spec"]["template"]["spec"]
    assert agent["priorityClassName"] == "system-node-critical"
    assert agent["tolerations"] == [{"operator": "Exists"}]
    assert agent["imagePullSecrets"] == [{"name": "pull"}]
    (container,) = agent["containers"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["AGENT_NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert env["DISCOVERY_HANDLERS_DIRECTORY"] == "/var/lib/akri"
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {v["hostPath"]["path"] for v in agent["volumes"]} == {
        "/var/lib/akri",
        "/var/lib/kubelet/device-plugins",
        "/var/lib/kubelet/pod-resources",
    }
    echo = of_kind(manifests, "DaemonSet")["akri-debug-echo-discovery-daemonset"]
    spec = echo["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux", "edge": "yes"}
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    assert env["DEBUG_ECHO_INSTANCES_SHARED"] == "true"
    assert env["DISCOVERY_HANDLERS_DIRECTORY"] == "/var/lib/akri"
    assert spec["containers"][0]["image"] == "akri-py/debug-echo-discovery:0.1.0"


def test_the_webhook_certificate_is_made_at_install_and_matches_its_bundle(
    tmp_path: Path,
) -> None:
    manifests = render()
    secret = of_kind(manifests, "Secret")["akri-webhook-configuration"]
    vwc = of_kind(manifests, "ValidatingWebhookConfiguration")["akri-webhook-configuration"]
    (hook,) = vwc["webhooks"]
    assert hook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
    assert hook["clientConfig"]["service"] == {
        "name": "akri-webhook-configuration",
        "namespace": "akri",
        "port": 443,
        "path": "/validate",
    }
    assert hook["failurePolicy"] == "Fail"
    ca, certificate = tmp_path / "ca.crt", tmp_path / "tls.crt"
    ca.write_bytes(base64.b64decode(secret["data"]["ca.crt"]))
    certificate.write_bytes(base64.b64decode(secret["data"]["tls.crt"]))
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca), str(certificate)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    names = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(certificate)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:akri-webhook-configuration.akri.svc" in names
    deployment = of_kind(manifests, "Deployment")["akri-webhook-configuration"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == [
        "--tls-crt-file=/secrets/tls.crt",
        "--tls-key-file=/secrets/tls.key",
        "--port=8443",
    ]
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"


@pytest.fixture
async def namespace(objects: Objects) -> str:
    name = f"t-chart-{uuid.uuid4().hex[:8]}"
    await kube.create_namespace(objects, name)
    return name


async def test_rendered_configurations_are_accepted_by_the_crds_and_our_webhook(
    testbed: Cluster, objects: Objects, namespace: str
) -> None:
    configurations: list[dict[str, Any]] = []
    sources: list[dict[str, Any] | Path] = [
        *PROTOCOLS.values(),
        *UPSTREAM_EXAMPLES,
        *OUR_EXAMPLES,
    ]
    for values in sources:
        configurations += of_kind(render(values, namespace=namespace), "Configuration").values()
    assert len(configurations) >= 10
    schemas = await source.fetch(objects)
    kubectl = locate(build=False)["kubectl"]
    for configuration in configurations:
        name = configuration["metadata"]["name"]
        assert validate_configuration(configuration, schemas) == [], name
        proc = await asyncio.create_subprocess_exec(
            str(kubectl), "--kubeconfig", str(testbed.kubeconfig), "apply",
            "--dry-run=server", "--server-side", "--field-manager=akri-tests", "-f", "-",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(
            proc.communicate(yaml.safe_dump(configuration).encode()), 60
        )
        assert proc.returncode == 0, f"{name}: {err.decode()}"
        assert b"serverside-applied (server dry run)" in out, out


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"udev": {"configuration": {"enabled": True}}}, "udev.configuration.discoveryDetails.udevRules"),
        ({"custom": {"configuration": {"enabled": True}}}, "custom.configuration.discoveryHandlerName"),
        ({"custom": {"discovery": {"enabled": True}}}, "custom.discovery.image.repository"),
    ],
)  # fmt: skip
def test_a_missing_required_value_is_named(values: dict[str, Any], named: str) -> None:
    with pytest.raises(HelmFailedError) as failed:
        render(values)
    assert named in failed.value.message


async def test_every_rendered_object_is_accepted_by_the_api_server(
    testbed: Cluster, objects: Objects, namespace: str
) -> None:
    """Server-side dry run of the whole chart, every protocol on (PodMonitors aside: their CRD
    belongs to the Prometheus operator)."""
    del objects  # the CRDs are installed
    values = [v for k, v in sorted(PROTOCOLS.items()) if k != "prometheus"]
    manifests = [m for m in render(*values, namespace=namespace) if m["kind"] != "PodMonitor"]
    kinds = {m["kind"] for m in manifests}
    assert {"DaemonSet", "Deployment", "Job", "Secret", "Service", "ServiceAccount"} <= kinds
    assert {"ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration"} <= kinds
    kubectl = locate(build=False)["kubectl"]
    proc = await asyncio.create_subprocess_exec(
        str(kubectl), "--kubeconfig", str(testbed.kubeconfig), "apply",
        "--dry-run=server", "--server-side", "--field-manager=akri-tests", "-f", "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(yaml.safe_dump_all(manifests).encode()), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().count("(server dry run)") == len(manifests), out.decode()
