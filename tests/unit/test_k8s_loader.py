"""``akri_common.k8s.loader``: kubernetes_asyncio without its models, urllib3 only when used.

Each case runs in a fresh interpreter, since the test process may already hold the full packages.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


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


def test_the_client_loads_without_models_or_urllib3() -> None:
    out = _run(
        """
        import sys
        import akri_common.k8s.client
        from kubernetes_asyncio.client import ApiClient, Configuration
        models = sys.modules["kubernetes_asyncio.client.models"]
        loaded = sorted(n for n in sys.modules if n.startswith("urllib3."))
        print(hasattr(models, "V1Pod"), loaded, ApiClient.__name__, Configuration.__name__)
        """
    )
    assert out == "False [] ApiClient Configuration"


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
