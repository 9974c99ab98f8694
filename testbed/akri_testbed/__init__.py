"""A real Kubernetes control plane and kubelet-backed nodes on loopback, for tests and the demo.

``python -m akri_testbed up --nodes 2`` starts etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and N ``akri-testbed-node`` processes built by ``testbed/build.sh``;
``python -m akri_testbed down`` stops them. Tests use :mod:`akri_testbed.pytest_plugin`.
"""

from akri_testbed.cluster import (
    Cluster,
    NodeInfo,
    TestbedError,
    restart_node,
    start_cluster,
    stop_cluster,
)

__all__ = ["Cluster", "NodeInfo", "TestbedError", "restart_node", "start_cluster", "stop_cluster"]
