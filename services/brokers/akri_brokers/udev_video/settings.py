"""The video broker's settings, read once from the environment (upstream's names where it has them).

Upstream's udev-video-broker reads ``UDEV_DEVNODE_<HASH>``, ``FORMAT`` (default MJPG),
``RESOLUTION_WIDTH``/``RESOLUTION_HEIGHT`` (640x480) and ``FRAMES_PER_SECOND`` (10), and serves
``camera.Camera`` on 0.0.0.0:8083. The address, port, frame size limit and I/O preference are ours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from akri_brokers.udev_video.choice import IoMethod, Size
from akri_brokers.variables import required
from akri_common.logging import Format, Output
from akri_common.settings import Environment, SettingsError

DEVNODE = "UDEV_DEVNODE"
DEFAULT_PORT = 8083
#: Frames over this are dropped: gRPC clients refuse messages over 4 MiB unless told otherwise.
DEFAULT_MAX_FRAME_BYTES = 4_000_000
MAX_FRAME_BYTES_LIMIT = 64 * 1024 * 1024
JPEG_FORMATS = ("MJPG", "JPEG")
MAX_DEVNODE_CHARS = 1024
_HASH_SUFFIX = re.compile(rf"{DEVNODE}_[A-F0-9]{{6}}")


def video_devnode(env: Mapping[str, str]) -> tuple[str, list[str]]:
    """The device node to capture from, and any other distinct nodes the pod was given.

    Upstream's broker takes ``UDEV_DEVNODE_<HASH>`` (six hex digits); the bare ``UDEV_DEVNODE`` and
    a group's ``UDEV_DEVNODE_<i>`` are read too, in that order, by name.
    """
    found = required(env, DEVNODE)
    ranked = sorted(found, key=lambda name: (not _HASH_SUFFIX.fullmatch(name), name != DEVNODE))
    nodes = list(dict.fromkeys(found[name] for name in ranked))
    for name in ranked:
        if not found[name].startswith("/") or len(found[name]) > MAX_DEVNODE_CHARS:
            raise SettingsError(
                name, found[name][:MAX_DEVNODE_CHARS], "expected an absolute device node path"
            )
    return nodes[0], nodes[1:]


@dataclass(frozen=True)
class VideoSettings:
    devnode: str
    other_devnodes: tuple[str, ...] = ()
    resolution: Size | None = None  # None: upstream's default rule
    fps: int | None = None
    pixel_format: str = "MJPG"
    address: str = "0.0.0.0"  # noqa: S104 - a broker serves its pod's network
    port: int = DEFAULT_PORT
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    io: IoMethod | None = None  # None: streaming when the device has it
    log_level: str = "info"
    log_format: Format = "auto"
    log_output: Output = "stderr"

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> VideoSettings:
        """Reads the variables ``VARIABLES`` lists; ``SettingsError`` names a bad one."""
        read = Environment(env)
        devnode, others = video_devnode(env)
        pixel_format = read.string("FORMAT", "MJPG")
        if pixel_format not in JPEG_FORMATS:
            raise SettingsError(
                "FORMAT", pixel_format, "this broker serves JPEG frames: expected MJPG or JPEG"
            )
        width = read.optional("RESOLUTION_WIDTH")
        height = read.optional("RESOLUTION_HEIGHT")
        resolution = None
        if (width is None) != (height is None):
            missing = "RESOLUTION_HEIGHT" if height is None else "RESOLUTION_WIDTH"
            raise SettingsError(missing, None, "is required when the other dimension is set")
        if width is not None:
            resolution = (
                read.integer("RESOLUTION_WIDTH", 0, minimum=1, maximum=16384),
                read.integer("RESOLUTION_HEIGHT", 0, minimum=1, maximum=16384),
            )
        fps = None
        if read.optional("FRAMES_PER_SECOND") is not None:
            fps = read.integer("FRAMES_PER_SECOND", 0, minimum=1, maximum=1000)
        io_name = read.string("VIDEO_IO", "auto")
        if io_name not in ("auto", "streaming", "read"):
            raise SettingsError("VIDEO_IO", io_name, "expected auto, streaming or read")
        log_format = read.string("LOG_FORMAT", "auto")
        if log_format not in ("auto", "json", "console"):
            raise SettingsError("LOG_FORMAT", log_format, "expected auto, json or console")
        return cls(
            devnode=devnode,
            other_devnodes=tuple(others),
            resolution=resolution,
            fps=fps,
            pixel_format=pixel_format,
            address=read.string("BROKER_GRPC_ADDRESS", "0.0.0.0"),  # noqa: S104
            port=read.integer("BROKER_GRPC_PORT", DEFAULT_PORT, minimum=1),
            max_frame_bytes=read.integer(
                "MAX_FRAME_BYTES",
                DEFAULT_MAX_FRAME_BYTES,
                minimum=1024,
                maximum=MAX_FRAME_BYTES_LIMIT,
            ),
            io=None if io_name == "auto" else IoMethod(io_name),
            log_level=read.string("LOG_LEVEL", "info"),
            log_format=cast(Format, log_format),
            log_output=read.log_output(),
        )


VARIABLES: tuple[tuple[str, str], ...] = (
    (
        "UDEV_DEVNODE_<HASH>",
        "required: the camera's device node, e.g. /dev/video0 (set by the device plugin;"
        " the bare UDEV_DEVNODE and a group's UDEV_DEVNODE_<i> are read too)",
    ),
    ("FORMAT", "MJPG (default) or JPEG: the broker serves JPEG frames only"),
    ("RESOLUTION_WIDTH", "the wanted width (default 640, or the device's first size)"),
    ("RESOLUTION_HEIGHT", "the wanted height (default 480)"),
    ("FRAMES_PER_SECOND", "the wanted rate (default 10, or the device's first rate)"),
    ("BROKER_GRPC_ADDRESS", "where camera.Camera is served (default 0.0.0.0)"),
    ("BROKER_GRPC_PORT", f"its port (default {DEFAULT_PORT})"),
    ("MAX_FRAME_BYTES", f"larger frames are dropped (default {DEFAULT_MAX_FRAME_BYTES})"),
    ("VIDEO_IO", "auto (streaming when the device has it), streaming or read"),
)
