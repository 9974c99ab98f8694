"""Which cameras there are: Services and Instances in, tiles out (pure functions, no I/O).

In watch mode a tile is either the configuration Service ``<configuration>-svc`` ("any camera":
the Service balances over every broker of the Configuration) or an Instance's Service, shown only
while both the Instance (of that Configuration) and its Service exist: the Instance carries the
nodes that see the camera and its properties, and when a camera leaves, its Instance goes first,
so its tile goes at once, before the garbage collector removes the Service. A Service is dialled
at ``ClusterIP:<port named grpc>``, as upstream's app does; one without a ClusterIP (headless) or
without that port shows no tile.

A tile's key (``/camera_frame_feed/<key>``) is ``<namespace>.<service>`` in watch mode (neither
part can hold a dot), ``any`` and ``camera-<n>`` in fixed mode.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

JsonObject = Mapping[str, Any]

GRPC_PORT_NAME = "grpc"
INSTANCE_LABEL = "akri.sh/instance"
CONFIGURATION_LABEL = "akri.sh/configuration"
#: Both Services the controller makes carry it; the watch asks only for these.
SERVICE_SELECTOR = "controller=akri.sh"
#: Properties that name the camera, in the order they are preferred.
ANNOUNCED_NAME = "ONVIF_DEVICE_NAME"
NAME_PROPERTIES = (
    ANNOUNCED_NAME,
    "ONVIF_DEVICE_IP_ADDRESS",
    "UDEV_DEVNODE",
    "OPCUA_DISCOVERY_URL",
)
ANY_CAMERA = "any camera"
MAX_HOST = 253
MAX_LABEL = 80
MAX_NODES_SHOWN = 16
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


class TargetError(ValueError):
    """A camera address that is not ``host`` or ``host:port``."""


@dataclass(frozen=True, order=True)
class Target:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Source:
    """One tile: where its frames come from and what is written under it."""

    key: str
    target: Target
    label: str  # the camera, until the camera names itself in its frames
    nodes: tuple[str, ...] = ()
    any_camera: bool = False
    named: bool = False  # ``label`` is the name the camera announced (ONVIF_DEVICE_NAME)


def parse_target(text: str, *, default_port: int = 80) -> Target:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address; port 80 when none (as
    upstream's app appends ``:80``)."""
    text = text.strip()
    if not text or len(text) > MAX_HOST + 8:
        raise TargetError(f"expected a host or host:port of at most {MAX_HOST + 8} characters")
    host, port_text = text, ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise TargetError("expected [address]:port")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise TargetError("expected a port from 1 to 65535")
        port = int(port_text)
    if not _valid_host(host):
        raise TargetError("expected a host name or an IP address")
    return Target(host, port)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.match(host)) and len(host) <= MAX_HOST
    return True


def service_target(service: JsonObject) -> Target | None:
    """``ClusterIP:<port named grpc>``, or None for a headless Service or one without that port."""
    spec = service.get("spec") or {}
    cluster_ip = spec.get("clusterIP")
    if not isinstance(cluster_ip, str) or cluster_ip in ("", "None"):
        return None
    for port in spec.get("ports") or []:
        if port.get("name") == GRPC_PORT_NAME and isinstance(port.get("port"), int):
            try:
                return Target(str(ipaddress.ip_address(cluster_ip)), int(port["port"]))
            except ValueError:
                return None
    return None


def instance_service_name(instance: str) -> str:
    """The controller's name for an Instance's Service (dots become dashes)."""
    return f"{instance.replace('.', '-')}-svc"


def configuration_service_name(configuration: str) -> str:
    return f"{configuration.replace('.', '-')}-svc"


def tile_key(namespace: str, service: str) -> str:
    return f"{namespace}.{service}"


def cluster_sources(
    services: Iterable[JsonObject],
    instances: Iterable[JsonObject],
    *,
    configuration: str,
) -> list[Source]:
    """The tiles of ``configuration``: its configuration Service first, then its Instances'
    Services, each group in key order."""
    wanted: dict[tuple[str, str], JsonObject] = {}  # (namespace, service name) -> Instance
    for instance in instances:
        metadata = instance.get("metadata") or {}
        spec = instance.get("spec") or {}
        if spec.get("configurationName") != configuration or metadata.get("deletionTimestamp"):
            continue
        namespace = str(metadata.get("namespace", ""))
        wanted[(namespace, instance_service_name(str(metadata.get("name", ""))))] = instance
    configuration_service = configuration_service_name(configuration)
    first: list[Source] = []
    rest: list[Source] = []
    for service in services:
        metadata = service.get("metadata") or {}
        if metadata.get("deletionTimestamp"):
            continue
        namespace, name = str(metadata.get("namespace", "")), str(metadata.get("name", ""))
        target = service_target(service)
        if target is None:
            continue
        key = tile_key(namespace, name)
        if name == configuration_service:
            first.append(Source(key, target, ANY_CAMERA, any_camera=True))
        elif (namespace, name) in wanted:
            instance = wanted[(namespace, name)]
            rest.append(
                Source(
                    key,
                    target,
                    instance_label(instance),
                    instance_nodes(instance),
                    named=bool(_properties(instance).get(ANNOUNCED_NAME)),
                )
            )
    return sorted(first, key=lambda s: s.key) + sorted(rest, key=lambda s: s.key)


def _properties(instance: JsonObject) -> dict[str, Any]:
    properties = (instance.get("spec") or {}).get("brokerProperties") or {}
    return properties if isinstance(properties, dict) else {}


def instance_label(instance: JsonObject) -> str:
    """What names the camera before it names itself: a naming property, else the Instance."""
    properties = _properties(instance)
    for name in NAME_PROPERTIES:
        value = properties.get(name)
        if isinstance(value, str) and value:
            return clean_label(value)
    return clean_label(str((instance.get("metadata") or {}).get("name", "")))


def instance_nodes(instance: JsonObject) -> tuple[str, ...]:
    nodes = (instance.get("spec") or {}).get("nodes") or []
    return tuple(sorted(clean_label(str(n)) for n in nodes[:MAX_NODES_SHOWN]))


def clean_label(text: str) -> str:
    """Printable characters only, at most ``MAX_LABEL`` of them (a camera names itself)."""
    printable = "".join(c for c in text[: MAX_LABEL * 4] if c.isprintable())
    return printable.strip()[:MAX_LABEL]


def fixed_sources(cameras: Iterable[tuple[str, Target]]) -> list[Source]:
    """Fixed mode's tiles: ``any`` (``CAMERAS_SOURCE_SVC``) first, then ``camera-<n>``."""
    return [
        Source(key, target, ANY_CAMERA if key == "any" else target.host, any_camera=key == "any")
        for key, target in cameras
    ]


@dataclass(frozen=True)
class Plan:
    """What to change to go from the running tiles to the wanted ones."""

    start: tuple[Source, ...]
    stop: tuple[str, ...]  # keys
    update: tuple[Source, ...]  # same camera, new label or nodes: no restart
    left_out: int  # wanted beyond the limit


def plan(running: Mapping[str, Source], wanted: list[Source], *, limit: int) -> Plan:
    """Starts what is new, stops what went, restarts a tile whose address changed; at most
    ``limit`` tiles, the ones already running kept first."""
    kept = [s for s in wanted if s.key in running and running[s.key].target == s.target]
    fresh = [s for s in wanted if s not in kept]
    room = max(limit - len(kept), 0)
    chosen = kept[:limit] + fresh[:room]
    chosen_keys = {s.key for s in chosen}
    stop = tuple(sorted(k for k in running if k not in chosen_keys or _moved(running[k], chosen)))
    start = tuple(s for s in chosen if s.key not in running or s.key in stop)
    update = tuple(
        s for s in chosen if s.key in running and s.key not in stop and running[s.key] != s
    )
    return Plan(start=start, stop=stop, update=update, left_out=len(wanted) - len(chosen))


def _moved(current: Source, chosen: list[Source]) -> bool:
    return any(s.key == current.key and s.target != current.target for s in chosen)
