"""The Kubernetes objects that deploy the app, built by one function the demo and tests share.

``manifests(...)`` returns a ServiceAccount, the RBAC to list and watch Services and Instances
(nothing else), a Deployment and a Service. With ``configuration_namespace`` (the default: the
app's own namespace) the app follows that namespace only and gets a Role there; with
``all_namespaces=True`` it follows every namespace, as upstream's app does, through a
ClusterRole. ``python -m akri_streaming.manifest`` prints them as YAML;
``examples/video-streaming-app.yaml`` is its output with the defaults.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

NAME = "akri-video-streaming-app"
DEFAULT_IMAGE = "akri-py/video-streaming-app:0.1.0"
PORT = 5000
USER = 65532  # the images' non-root "akri" user
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "akri"}
RULES = [
    {"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch"]},
    {"apiGroups": ["akri.sh"], "resources": ["instances"], "verbs": ["list", "watch"]},
]

Manifest = dict[str, Any]


def manifests(
    *,
    namespace: str = "default",
    configuration: str = "akri-onvif",
    image: str = DEFAULT_IMAGE,
    configuration_namespace: str | None = None,
    all_namespaces: bool = False,
    pull_policy: str = "IfNotPresent",
    service_type: str = "ClusterIP",
    node: str | None = None,
) -> list[Manifest]:
    watched = None if all_namespaces else (configuration_namespace or namespace)
    meta = {"name": NAME, "namespace": namespace, "labels": dict(LABELS)}
    account: Manifest = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}
    role_kind = "ClusterRole" if watched is None else "Role"
    role_meta: dict[str, Any] = {"name": NAME if watched else f"{NAME}-{namespace}"}
    if watched is not None:
        role_meta["namespace"] = watched
    role: Manifest = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": role_kind,
        "metadata": {**role_meta, "labels": dict(LABELS)},
        "rules": RULES,
    }
    binding: Manifest = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": f"{role_kind}Binding",
        "metadata": {**role_meta, "labels": dict(LABELS)},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role_kind,
            "name": role_meta["name"],
        },
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}],
    }
    env = [{"name": "CONFIGURATION_NAME", "value": configuration}]
    if watched is not None:
        env.append({"name": "CONFIGURATION_NAMESPACE", "value": watched})
    env += [
        {"name": "STREAMING_PORT", "value": str(PORT)},
        {"name": "LOG_FORMAT", "value": "json"},
        {"name": "LOG_OUTPUT", "value": "stdout"},
    ]
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    pod_spec: dict[str, Any] = {
        "serviceAccountName": NAME,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": USER,
            "runAsGroup": USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "app",
                "image": image,
                "imagePullPolicy": pull_policy,
                "env": env,
                "ports": [{"name": "http", "containerPort": PORT}],
                "readinessProbe": {**probe, "periodSeconds": 2},
                "livenessProbe": probe,
                "resources": {
                    "requests": {"cpu": "50m", "memory": "64Mi"},
                    "limits": {"memory": "192Mi"},
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    }
    if node is not None:
        pod_spec["nodeName"] = node
    deployment: Manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "template": {"metadata": {"labels": dict(LABELS)}, "spec": pod_spec},
        },
    }
    service: Manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": service_type,
            "selector": {"app.kubernetes.io/name": NAME},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    return [account, role, binding, deployment, service]


def render(documents: list[Manifest]) -> str:
    return "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in documents)


HEADER = (
    "# The video streaming app (services/apps/streaming): every camera of a Configuration, live.\n"
    "# Generated by `python -m akri_streaming.manifest` (defaults); pass --namespace,\n"
    "# --configuration, --image or --all-namespaces for another setup.\n"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m akri_streaming.manifest", description=__doc__)
    parser.add_argument("--namespace", default="default", help="where the app runs")
    parser.add_argument("--configuration", default="akri-onvif", help="whose cameras")
    parser.add_argument("--configuration-namespace", help="its namespace (default: --namespace)")
    parser.add_argument("--all-namespaces", action="store_true", help="follow every namespace")
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    args = parser.parse_args(argv)
    documents = manifests(
        namespace=args.namespace,
        configuration=args.configuration,
        image=args.image,
        configuration_namespace=args.configuration_namespace,
        all_namespaces=args.all_namespaces,
    )
    sys.stdout.write(HEADER + render(documents))
    return 0


if __name__ == "__main__":
    sys.exit(main())
