"""``akri_common.k8s.loader``: kubernetes_asyncio without its models, urllib3 only when used.

Each case runs in a fresh interpreter, since the test process may already hold the full packages.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_client_loads_without_models_urllib3_or_yaml() -> None:
    out = _run(
        """
        import sys
        import akri_common.k8s.client
        from kubernetes_asyncio.client import ApiClient, Configuration
        models = sys.modules["kubernetes_asyncio.client.models"]
        loaded = sorted(n for n in sys.modules if n.startswith(("urllib3.", "yaml.")))
        print(hasattr(models, "V1Pod"), loaded, ApiClient.__name__, Configuration.__name__)
        """
    )
    assert out == "False [] ApiClient Configuration"


def test_a_kubeconfig_file_loads_yaml_on_use(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://192.0.2.1:6443'}}]\n"
        "users: [{name: u, user: {token: t0k3n}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    out = _run(
        f"""
        import asyncio
        from pathlib import Path
        from akri_common.k8s.client import connect
        import yaml

        async def main():
            client = await connect(Path({str(kubeconfig)!r}))
            print(client.configuration.host, yaml.safe_load("a: [1]"))
            await client.close()

        asyncio.run(main())
        """
    )
    assert out == "https://192.0.2.1:6443 {'a': [1]}"


def test_urllib3_loads_on_first_use() -> None:
    out = _run(
        """
        import akri_common.k8s.client
        from kubernetes_asyncio.client import Configuration
        import urllib3.util
        config = Configuration()
        config.username, config.password = "user", "secret"
        print(config.get_basic_auth_token(), urllib3.util.make_headers(keep_alive=True))
        """
    )
    assert out == "Basic dXNlcjpzZWNyZXQ= {'connection': 'keep-alive'}"
