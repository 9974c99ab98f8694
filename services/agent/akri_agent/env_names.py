"""Which property names may become environment variables in a broker container. Pure.

A device's properties and a Configuration's ``brokerProperties`` become the broker's environment
(``KEY`` and ``KEY_<HASH6>``). A name that is not a valid environment variable name (``A B``,
``a=b``, ``1X``, a newline, NUL) would break the container's start or smuggle a second variable,
and some valid names change how every program in the container runs (``LD_PRELOAD``, ``PATH``).
``filter_env`` keeps the rest and returns the names it dropped, for one warning by the caller.
The dangerous names are a setting (``AGENT_ENV_DENY_LIST``, comma-separated, replacing
``DEFAULT_DENIED``; a name ending in ``*`` denies a prefix).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: POSIX's portable environment-variable names (what upstream's property names allow too).
VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEFAULT_DENIED = (
    "LD_*",
    "PATH",
    "HOME",
    "SHELL",
    "IFS",
    "ENV",
    "BASH_ENV",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "NODE_OPTIONS",
    "PERL5OPT",
    "JAVA_TOOL_OPTIONS",
    "GCONV_PATH",
    "MALLOC_*",
)


@dataclass(frozen=True)
class EnvPolicy:
    """Names denied exactly, and prefixes denied (from entries ending in ``*``)."""

    denied: frozenset[str] = frozenset()
    denied_prefixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[str]) -> EnvPolicy:
        names = [e.strip() for e in entries if e.strip()]
        return cls(
            denied=frozenset(n for n in names if not n.endswith("*")),
            denied_prefixes=tuple(n[:-1] for n in names if n.endswith("*")),
        )

    @classmethod
    def parse(cls, setting: str) -> EnvPolicy:
        """From the setting's text: comma-separated names and ``PREFIX*`` entries."""
        return cls.of(setting.split(","))

    def reason(self, name: str) -> str | None:
        """Why ``name`` may not be set, or None when it may."""
        if not VALID_NAME.fullmatch(name):
            return "not a valid environment variable name"
        if name in self.denied or name.startswith(self.denied_prefixes):
            return "denied (AGENT_ENV_DENY_LIST)"
        return None


DEFAULT_POLICY = EnvPolicy.of(DEFAULT_DENIED)


def filter_env(
    env: Mapping[str, str], policy: EnvPolicy = DEFAULT_POLICY
) -> tuple[dict[str, str], dict[str, str]]:
    """The variables that may be set, and each dropped name with the reason."""
    kept: dict[str, str] = {}
    dropped: dict[str, str] = {}
    for name, value in env.items():
        reason = policy.reason(name)
        if reason is None:
            kept[name] = value
        else:
            dropped[name] = reason
    return kept, dropped
