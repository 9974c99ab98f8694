"""What every Akri-py service process shares: CRD models and names, logging, settings.

Nothing process-specific lives here. Only ``akri_common.k8s`` may import ``kubernetes_asyncio``.
"""
