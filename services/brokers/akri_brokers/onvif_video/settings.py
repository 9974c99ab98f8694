"""The ONVIF video broker's settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from akri_common.logging import Format, Output
from akri_common.settings import Environment, SettingsError
from akri_common.usage import COMMON, Variable

#: Upstream's sample brokers serve gRPC on 8083 (the chart's Services map port 80 to it).
DEFAULT_PORT = 8083
MIB = 1024 * 1024

VARIABLES: tuple[Variable, ...] = (
    ("ONVIF_PROFILE_<i>_*", "the camera's media properties (the ONVIF handler's describeMedia)"),
    ("ONVIF_VIDEO_PROFILE", "a profile token or index (default: the smallest resolution)"),
    ("ONVIF_USERNAME", "the camera's HTTP credential, user name (e.g. from a Secret)"),
    ("ONVIF_PASSWORD", "its password (never logged)"),
    ("BROKER_GRPC_ADDRESS", "where camera.Camera is served (default 0.0.0.0)"),
    ("BROKER_GRPC_PORT", f"its port (default {DEFAULT_PORT})"),
    ("ONVIF_VIDEO_MAX_FRAME_BYTES", "the largest JPEG accepted (default 4 MiB)"),
    ("ONVIF_VIDEO_READ_TIMEOUT", "seconds without data before reconnecting (default 10)"),
    ("ONVIF_VIDEO_SNAPSHOT_INTERVAL", "seconds between snapshots when polling (default 0.2)"),
    ("ONVIF_VIDEO_MAX_FRAME_AGE", "older frames are not served (default 10 seconds)"),
    ("ONVIF_VIDEO_BACKOFF_CAP", "the longest wait between reconnects (default 5 seconds)"),
    *COMMON,
)


@dataclass(frozen=True)
class VideoSettings:
    profile: str | None = None
    username: str | None = None
    password: str | None = None
    address: str = "0.0.0.0"  # noqa: S104 - a broker pod serves its Service
    port: int = DEFAULT_PORT
    max_frame_bytes: int = 4 * MIB
    max_header_bytes: int = 8 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    snapshot_interval: float = 0.2
    max_frame_age: float = 10.0
    backoff_initial: float = 0.2
    backoff_cap: float = 5.0
    log_level: str = "info"
    log_format: Format = "auto"
    log_output: Output = "stderr"

    def __repr__(self) -> str:  # the password stays out of any log or traceback
        return (
            f"VideoSettings(profile={self.profile!r}, address={self.address!r}, port={self.port})"
        )

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> VideoSettings:
        read = Environment(env)
        log_format = read.string("LOG_FORMAT", "auto")
        if log_format not in ("auto", "json", "console"):
            raise SettingsError("LOG_FORMAT", log_format, "expected auto, json or console")
        username = read.optional("ONVIF_USERNAME")
        password = env.get("ONVIF_PASSWORD")
        if password and username is None:
            raise SettingsError("ONVIF_USERNAME", None, "is required with ONVIF_PASSWORD")
        return cls(
            profile=read.optional("ONVIF_VIDEO_PROFILE"),
            username=username,
            password=password if username is not None else None,
            address=read.string("BROKER_GRPC_ADDRESS", "0.0.0.0"),  # noqa: S104
            port=read.integer("BROKER_GRPC_PORT", DEFAULT_PORT, minimum=1, maximum=65535),
            max_frame_bytes=read.integer(
                "ONVIF_VIDEO_MAX_FRAME_BYTES", 4 * MIB, minimum=1024, maximum=64 * MIB
            ),
            read_timeout=read.seconds("ONVIF_VIDEO_READ_TIMEOUT", 10.0, maximum=600),
            snapshot_interval=read.seconds("ONVIF_VIDEO_SNAPSHOT_INTERVAL", 0.2, maximum=600),
            max_frame_age=read.seconds("ONVIF_VIDEO_MAX_FRAME_AGE", 10.0, maximum=3600),
            backoff_cap=read.seconds("ONVIF_VIDEO_BACKOFF_CAP", 5.0, maximum=600),
            log_level=read.string("LOG_LEVEL", "info"),
            log_format=cast(Format, log_format),
            log_output=read.log_output(),
        )
