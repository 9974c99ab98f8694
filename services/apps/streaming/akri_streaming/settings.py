"""The app's settings, read once from the environment (upstream's names where upstream has them).

Two modes, as upstream's app has:

* ``CONFIGURATION_NAME`` set: the cameras are the Services the controller made for that
  Configuration, followed by watch: the configuration Service ``<configuration>-svc`` (one tile,
  "any camera") and each Instance's Service ``<instance>-svc``. ``CONFIGURATION_NAMESPACE`` names
  the namespace to follow; unset, every namespace (upstream's behaviour, which needs a
  ClusterRole; the manifest sets it and grants a Role in that namespace only).
* otherwise a fixed list: ``CAMERA_COUNT`` cameras ``CAMERA<n>_SOURCE_SVC`` (n from 1) and,
  optionally, ``CAMERAS_SOURCE_SVC`` (the "any camera" tile). Each is a host (port 80, as
  upstream) or ``host:port``.

``STREAMING_SOURCE_OVERRIDE`` (``host:port``) makes every frame loop dial that address instead of
the camera's (tests and debugging: a watch-mode test must never dial a Service's ClusterIP on a
cluster without kube-proxy); ``STREAMING_FETCH_FRAMES=false`` runs no frame loop at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from akri_common.logging import Format, Output
from akri_common.settings import Environment, SettingsError
from akri_streaming.sources import Target, TargetError, parse_target

DEFAULT_PORT = 5000  # upstream's app (Flask) serves on 5000
MAX_CAMERA_COUNT = 64


@dataclass(frozen=True)
class Limits:
    """What keeps cameras and browsers from taking more than their share."""

    max_cameras: int = 16  # tiles (and frame loops) at most; further sources are left out
    max_frame_bytes: int = 4 * 1024 * 1024  # a larger frame is refused by gRPC, never buffered
    max_viewers: int = 64  # open MJPEG streams at most; more get 503
    frame_rate: int = 10  # GetFrame calls per second per camera
    call_timeout: float = 3.0  # one GetFrame must answer within it
    write_timeout: float = 10.0  # a browser that takes longer to accept one frame is cut off
    retry_cap: float = 2.0  # the longest pause between failed GetFrame calls


@dataclass(frozen=True)
class StreamingSettings:
    configuration: str | None
    configuration_namespace: str | None
    fixed: tuple[tuple[str, Target], ...]  # (key, target) in fixed mode
    host: str = "0.0.0.0"  # noqa: S104 (browsers connect from outside the pod)
    port: int = DEFAULT_PORT
    fetch_frames: bool = True
    source_override: Target | None = None
    limits: Limits = Limits()
    kubeconfig: Path | None = None
    log_level: str = "info"
    log_format: Format = "auto"
    log_output: Output = "stderr"

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> StreamingSettings:
        read = Environment(env)
        log_format = read.string("LOG_FORMAT", "auto")
        if log_format not in ("auto", "json", "console"):
            raise SettingsError("LOG_FORMAT", log_format, "expected auto, json or console")
        configuration = read.optional("CONFIGURATION_NAME")
        fixed: tuple[tuple[str, Target], ...] = ()
        if configuration is None:
            fixed = _fixed_cameras(read, env)
        kubeconfig = read.optional("KUBECONFIG")
        return cls(
            configuration=configuration,
            configuration_namespace=read.optional("CONFIGURATION_NAMESPACE"),
            fixed=fixed,
            host=read.string("STREAMING_HOST", "0.0.0.0"),  # noqa: S104
            port=read.integer("STREAMING_PORT", DEFAULT_PORT),
            fetch_frames=read.boolean("STREAMING_FETCH_FRAMES", True),
            source_override=_target(env, "STREAMING_SOURCE_OVERRIDE", required=False),
            limits=Limits(
                max_cameras=read.integer("STREAMING_MAX_CAMERAS", 16, minimum=1, maximum=256),
                max_frame_bytes=read.integer(
                    "STREAMING_MAX_FRAME_BYTES",
                    4 * 1024 * 1024,
                    minimum=1024,
                    maximum=64 * 1024 * 1024,
                ),
                max_viewers=read.integer("STREAMING_MAX_VIEWERS", 64, minimum=1, maximum=4096),
                frame_rate=read.integer("STREAMING_FRAME_RATE", 10, minimum=1, maximum=30),
            ),
            kubeconfig=Path(kubeconfig) if kubeconfig else None,
            log_level=read.string("LOG_LEVEL", "info"),
            log_format=cast(Format, log_format),
            log_output=read.log_output(),
        )


def _target(env: Mapping[str, str], name: str, *, required: bool) -> Target | None:
    value = env.get(name) or None
    if value is None:
        if required:
            raise SettingsError(name, None, "is required (a host, or host:port)")
        return None
    try:
        return parse_target(value)
    except TargetError as err:
        raise SettingsError(name, value[:300], str(err)) from None


def _fixed_cameras(read: Environment, env: Mapping[str, str]) -> tuple[tuple[str, Target], ...]:
    """Upstream's explicit mode: ``CAMERA_COUNT`` cameras and the optional "any camera" one."""
    if not env.get("CAMERA_COUNT"):
        raise SettingsError(
            "CONFIGURATION_NAME", None, "is required unless CAMERA_COUNT names the cameras"
        )
    count = read.integer("CAMERA_COUNT", 0, minimum=0, maximum=MAX_CAMERA_COUNT)
    cameras: list[tuple[str, Target]] = []
    any_camera = _target(env, "CAMERAS_SOURCE_SVC", required=False)
    if any_camera is not None:
        cameras.append(("any", any_camera))
    for index in range(1, count + 1):
        target = _target(env, f"CAMERA{index}_SOURCE_SVC", required=True)
        assert target is not None  # required
        cameras.append((f"camera-{index}", target))
    return tuple(cameras)
