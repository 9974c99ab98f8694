"""Command lines of the testbed's components (pure functions, no I/O).

Flags follow what kubeadm, envtest and Kubernetes' own local-up-cluster use for a single-host
control plane, reduced to loopback: nothing listens on any address but 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from akri_testbed.binaries import Binaries
from akri_testbed.pki import Pki

SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
KCM_CONTROLLERS = (
    "garbage-collector-controller",
    "namespace-controller",
    "node-lifecycle-controller",
    "serviceaccount-controller",
    "deployment-controller",
    "replicaset-controller",
    "daemonset-controller",
    "statefulset-controller",
    "job-controller",
    "ttl-after-finished-controller",
    "pod-garbage-collector-controller",
    "taint-eviction-controller",
    # What pods on the container nodes need: the kube-root-ca.crt ConfigMap that every
    # service-account token volume mounts, and Service endpoints.
    "root-ca-certificate-publisher-controller",
    "endpointslice-controller",
    "endpointslice-mirroring-controller",
    "endpoints-controller",
)


@dataclass(frozen=True)
class Ports:
    """Loopback ports of one testbed."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int


@dataclass(frozen=True)
class NodeDirs:
    """The directories of one node: its kubelet root and what lives below it."""

    root: Path

    @property
    def device_plugins(self) -> Path:
        return self.root / "device-plugins"

    @property
    def pod_resources_socket(self) -> Path:
        return self.root / "pod-resources" / "kubelet.sock"

    @property
    def run_options(self) -> Path:
        return self.root / "pods"


def etcd(binaries: Binaries, ports: Ports, data_dir: Path) -> list[str]:
    client = f"http://127.0.0.1:{ports.etcd_client}"
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    return [
        str(binaries["etcd"]),
        "--name=testbed",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=testbed={peer}",
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]


def apiserver(
    binaries: Binaries,
    ports: Ports,
    pki: Pki,
    token_file: Path,
    *,
    advertise_address: str | None = None,
) -> list[str]:
    """The API server on loopback; with ``advertise_address`` (the container testbed, where it runs
    in the testbed's own network namespace) also on that address, as the `kubernetes` Service's
    endpoint, with the Node authorizer and a client certificate towards the kubelets."""
    if advertise_address is None:
        placement = [
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",
            "--authorization-mode=RBAC",
        ]
    else:
        placement = [
            # Inside the testbed's network namespace: only its loopback and bridge exist there.
            "--bind-address=0.0.0.0",
            f"--advertise-address={advertise_address}",
            "--endpoint-reconciler-type=lease",
            "--authorization-mode=Node,RBAC",
            "--kubelet-preferred-address-types=InternalIP",
            f"--kubelet-client-certificate={pki.kubelet_client_cert}",
            f"--kubelet-client-key={pki.kubelet_client_key}",
            # Webhooks and aggregated APIs are called at their endpoints (pod IPs, routed to the
            # nodes), not at their ClusterIPs, which only kube-proxy on a node can resolve.
            "--enable-aggregator-routing=true",
        ]
    return [
        str(binaries["kube-apiserver"]),
        f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
        *placement,
        f"--secure-port={ports.apiserver}",
        f"--tls-cert-file={pki.server_cert}",
        f"--tls-private-key-file={pki.server_key}",
        f"--client-ca-file={pki.ca_cert}",
        # Published for kube-controller-manager and kube-scheduler, which otherwise log errors;
        # no front-proxy certificate is ever issued.
        f"--requestheader-client-ca-file={pki.ca_cert}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--token-auth-file={token_file}",
        "--anonymous-auth=false",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        f"--service-account-issuer=https://127.0.0.1:{ports.apiserver}",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        "--allow-privileged=true",
        "--profiling=false",
        "--v=1",
    ]


def controller_manager(
    binaries: Binaries, ports: Ports, kubeconfig: Path, cert_dir: Path, ca_cert: Path
) -> list[str]:
    return [
        str(binaries["kube-controller-manager"]),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.controller_manager}",
        f"--cert-dir={cert_dir}",
        f"--controllers={','.join(KCM_CONTROLLERS)}",
        f"--root-ca-file={ca_cert}",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        "--profiling=false",
        "--v=1",
    ]


def scheduler(binaries: Binaries, ports: Ports, kubeconfig: Path, cert_dir: Path) -> list[str]:
    return [
        str(binaries["kube-scheduler"]),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.scheduler}",
        f"--cert-dir={cert_dir}",
        "--profiling=false",
        "--v=1",
    ]


def node(binaries: Binaries, name: str, dirs: NodeDirs, kubeconfig: Path) -> list[str]:
    return [
        str(binaries["akri-testbed-node"]),
        f"--kubeconfig={kubeconfig}",
        f"--node-name={name}",
        f"--root-dir={dirs.root}",
        f"--device-plugin-dir={dirs.device_plugins}",
        f"--pod-resources-socket={dirs.pod_resources_socket}",
        f"--run-options-dir={dirs.run_options}",
        "--v=2",
    ]
