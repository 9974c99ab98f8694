"""Reading typed settings from the environment, once, in a process's ``__main__``.

Each process declares a frozen ``Settings`` dataclass of its own and builds it with these readers,
which raise ``SettingsError`` naming the variable and the value when something is missing or wrong.
Names follow what upstream's Helm chart sets (``AGENT_NODE_NAME``, ``DISCOVERY_HANDLERS_DIRECTORY``…).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """An environment variable that is missing or cannot be read; restarting will not help."""

    def __init__(self, name: str, value: str | None, reason: str) -> None:
        self.name = name
        self.value = value
        shown = "unset" if value is None else repr(value)
        super().__init__(f"environment variable {name}: {reason} (it is {shown})")


class Environment:
    """Typed reads over a mapping of environment variables (``os.environ`` in production)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def string(self, name: str, default: str | None = None) -> str:
        value = self._env.get(name)
        if value is None or value == "":
            if default is None:
                raise SettingsError(name, value, "is required")
            return default
        return value

    def optional(self, name: str) -> str | None:
        value = self._env.get(name)
        return value if value else None

    def log_output(self) -> Literal["stderr", "stdout"]:
        """``LOG_OUTPUT``: where logs go, stderr (default) or stdout."""
        value = self.string("LOG_OUTPUT", "stderr")
        if value == "stdout":
            return "stdout"
        if value == "stderr":
            return "stderr"
        raise SettingsError("LOG_OUTPUT", value, "expected stderr or stdout")

    def seconds(self, name: str, default: float, *, maximum: float) -> float:
        """A number of seconds from 0.05 to ``maximum``; ``default`` when unset."""
        value = self._env.get(name)
        if not value:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(name, value, "expected a number of seconds") from None
        if not 0.05 <= number <= maximum:
            raise SettingsError(name, value, f"expected from 0.05 to {maximum:g} seconds")
        return number

    def path(self, name: str, default: str | None = None) -> Path:
        return Path(self.string(name, default))

    def boolean(self, name: str, default: bool | None = None) -> bool:
        value = self._env.get(name)
        if value is None or value == "":
            if default is None:
                raise SettingsError(name, value, "is required (true or false)")
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise SettingsError(name, value, "expected true or false")

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int = 65535) -> int:
        value = self._env.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(name, value, "expected a whole number") from None
        if not minimum <= number <= maximum:
            raise SettingsError(name, value, f"expected a number from {minimum} to {maximum}")
        return number


def require_cluster_access(env: Mapping[str, str]) -> None:
    """Raises ``SettingsError`` naming ``KUBECONFIG`` when there is no way to reach the API server:
    no kubeconfig and no in-cluster service (``KUBERNETES_SERVICE_HOST``, set by the kubelet)."""
    if not env.get("KUBECONFIG") and not env.get("KUBERNETES_SERVICE_HOST"):
        raise SettingsError(
            "KUBECONFIG", None, "is required outside a cluster (KUBERNETES_SERVICE_HOST is unset)"
        )
