"""Loading ``kubernetes_asyncio`` without its generated models, which Akri-py never uses.

``import kubernetes_asyncio`` runs package initialisers that import every API class and every one
of the ~700 generated model classes: about 33 MiB of resident memory and a second of start-up, in
processes whose chart limit is 79 MiB. Akri-py reads and writes objects as JSON dicts
(``objects.py``), so it needs only the API client, its configuration, REST layer and exceptions,
and the kubeconfig loaders. This module registers the two package modules unexecuted and an empty
``models`` module, then imports just those pieces. If ``kubernetes_asyncio`` was already imported
in full (a test, an embedding program), it leaves everything as it is.

``urllib3`` and ``yaml`` are deferred: the client's configuration imports urllib3 only for HTTP
basic authentication, which Akri-py never uses, and the kubeconfig loader imports yaml only to
read a kubeconfig file, which an in-cluster process never does. Loading them costs about 30 ms of
CPU, 140 modules and ~3 MiB at every start (most of a second under a 26m CPU limit). A placeholder
stands in for each; the first attribute read imports the real module, so anything that does use
it still gets it.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any


def _unexecuted_package(name: str) -> types.ModuleType:
    spec = importlib.util.find_spec(name)
    if spec is None:  # pragma: no cover - the dependency is pinned
        raise ImportError(f"{name} is not installed")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    return module


class _Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module until something reads one of its attributes; then
    the real module is imported in its place and answers (this object keeps delegating to it)."""

    def __getattr__(self, attribute: str) -> Any:
        real = sys.modules.get(self.__name__)
        if real is None or real is self:
            sys.modules.pop(self.__name__, None)
            real = importlib.import_module(self.__name__)
        return getattr(real, attribute)


def _defer(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:  # pragma: no cover - the dependency is pinned
        return
    placeholder = _Deferred(name)
    placeholder.__spec__ = None  # the import system then takes it as loaded
    sys.modules[name] = placeholder


def load() -> None:
    if "kubernetes_asyncio" in sys.modules:
        return
    _defer("urllib3")
    _defer("yaml")
    top = _unexecuted_package("kubernetes_asyncio")
    client = _unexecuted_package("kubernetes_asyncio.client")
    models = types.ModuleType("kubernetes_asyncio.client.models")
    sys.modules[models.__name__] = models
    top.client = client  # type: ignore[attr-defined]
    client.models = models  # type: ignore[attr-defined]
    # The pieces the kubeconfig loaders import from the package, in dependency order.
    from kubernetes_asyncio.client.api_client import ApiClient  # noqa: PLC0415
    from kubernetes_asyncio.client.configuration import Configuration  # noqa: PLC0415

    client.ApiClient = ApiClient  # type: ignore[attr-defined]
    client.Configuration = Configuration  # type: ignore[attr-defined]


load()
