"""Kubernetes access for Akri-py processes: the only package that imports ``kubernetes_asyncio``.

``client`` connects (kubeconfig or in-cluster), ``errors`` turns API failures into typed errors,
``objects`` reads and writes objects as plain dicts (server-side apply included), ``store`` and
``reflector`` keep a watched cache, ``controller`` runs level-based reconcilers over keys.
``loader`` imports ``kubernetes_asyncio`` without the generated models it does not need.
"""

# Before anything imports kubernetes_asyncio: load it without its generated models (loader.py).
from akri_common.k8s import loader as _loader  # noqa: F401
