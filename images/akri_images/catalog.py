"""The images Akri-py ships, one table entry each, and the one naming scheme they follow.

Naming: ``<REPOSITORY_PREFIX>/<name>:<project version>``, e.g. ``akri-py/agent:0.1.0``; the Helm
chart sets ``image.repository = akri-py/<name>`` and ``image.tag = <version>``. A runtime that
normalises names (containerd, the kubelet) sees ``docker.io/akri-py/<name>:<version>``, which is
the name the archives carry for ``ctr images import``.

An image is its service's pyproject extra installed over the shared base, started as
``python3 -m <module>``. Adding an image (an OPC UA handler, a video broker) is one ``ImageSpec``
here, an extra in pyproject.toml, and ``make images``; a handler written in another language would
give ``ImageSpec`` a different app-layer builder, the rest (base, labels, archive) stays.
"""

from __future__ import annotations

from dataclasses import dataclass

REPOSITORY_PREFIX = "akri-py"
SOURCE_URL = "https://github.com/akri-py/akri-py"
LICENSES = "Apache-2.0"
SITE_DIR = "/opt/akri/python"  # where an image's Python packages live (on PYTHONPATH)

ROOT = "0:0"
NONROOT = "65532:65532"  # the "akri" user and group the base image defines
NONROOT_NAME = "akri"


@dataclass(frozen=True)
class ImageSpec:
    """One image: which extra it installs, what it runs, as whom."""

    name: str  # the repository's last segment and the key in locate()'s answer
    extra: str  # the pyproject extra installed into the image (and nothing else)
    module: str  # the entrypoint: python3 -m <module>
    title: str
    user: str = NONROOT
    root_reason: str = ""  # why the service cannot run as non-root (documented in the README)
    ports: tuple[int, ...] = ()
    # Compressed size target (base included): handlers and brokers 60 MiB; the agent, controller
    # and webhook carry kubernetes_asyncio and get the agent's 70 MiB.
    size_target_mib: int = 60
    # A program in another language instead of a Python extra: the folder (relative to the
    # repository) whose build.sh writes the static ``program`` (``build.sh --out PATH``); the image
    # holds that one file and nothing else (no base).
    native: str = ""
    program: str = ""

    def __post_init__(self) -> None:
        if (self.user == ROOT) != bool(self.root_reason):
            raise ValueError(f"image {self.name}: runs as root exactly when root_reason is given")

    @property
    def repository(self) -> str:
        return f"{REPOSITORY_PREFIX}/{self.name}"

    def ref(self, version: str) -> str:
        return f"{self.repository}:{version}"

    def full_name(self, version: str) -> str:
        """The name a runtime normalises ``ref`` to (``docker.io/...``)."""
        return f"docker.io/{self.ref(version)}"

    @property
    def entrypoint(self) -> tuple[str, ...]:
        if self.native:
            return (f"/{self.program}",)
        return ("python3", "-m", self.module)


_HANDLER_SOCKETS = (
    "creates its socket in, and connects to the agent's registration socket in, the node's "
    "/var/lib/akri (a root-owned hostPath that the root agent's sockets live in)"
)

IMAGES: tuple[ImageSpec, ...] = (
    ImageSpec(
        name="agent",
        size_target_mib=70,
        extra="agent",
        module="akri_agent",
        title="Akri-py agent",
        user=ROOT,
        root_reason=(
            "serves device plugins in the kubelet's root-owned /var/lib/kubelet/device-plugins, "
            "dials the kubelet's registration and pod-resources sockets, and hosts "
            "agent-registration.sock in /var/lib/akri"
        ),
        ports=(8080,),
    ),
    ImageSpec(
        name="controller",
        size_target_mib=70,
        extra="controller",
        module="akri_controller",
        title="Akri-py controller",
        ports=(8080,),
    ),
    ImageSpec(
        name="webhook-configuration",
        size_target_mib=70,
        extra="webhook",
        module="akri_webhook",
        title="Akri-py Configuration admission webhook",
        ports=(8443, 8080),
    ),
    ImageSpec(
        name="udev-discovery",
        extra="udev",
        module="akri_udev",
        title="Akri-py udev discovery handler",
        user=ROOT,
        root_reason=_HANDLER_SOCKETS,
    ),
    ImageSpec(
        name="onvif-discovery",
        extra="onvif",
        module="akri_onvif",
        title="Akri-py ONVIF discovery handler",
        user=ROOT,
        root_reason=_HANDLER_SOCKETS,
    ),
    ImageSpec(
        name="debug-echo-discovery",
        extra="debug-echo",
        module="akri_debug_echo",
        title="Akri-py debugEcho discovery handler",
        user=ROOT,
        root_reason=_HANDLER_SOCKETS,
    ),
    ImageSpec(
        name="debug-echo-broker",
        extra="brokers",
        module="akri_brokers.debug_echo",
        title="Akri-py debugEcho broker (serves its device's environment over HTTP)",
        ports=(8080,),
    ),
    ImageSpec(
        name="udev-broker",
        extra="brokers",
        module="akri_brokers.udev",
        title="Akri-py udev broker (reads its device node, reports over HTTP)",
        user=ROOT,
        root_reason=(
            "opens the device node the device plugin hands it, which keeps the host's owner and "
            "mode (root:video 0660 for a camera)"
        ),
        ports=(8080,),
    ),
    ImageSpec(
        name="udev-video-broker",
        extra="udev-video-broker",
        module="akri_brokers.udev_video",
        title="Akri-py udev video broker (MJPEG frames from a V4L2 camera over camera.Camera gRPC)",
        user=ROOT,
        root_reason=(
            "opens the camera's device node read-write, which keeps the host's owner and mode "
            "(root:video 0660); upstream's udev video Configuration runs it privileged"
        ),
        ports=(8083,),
    ),
    ImageSpec(
        name="opcua-discovery",
        extra="opcua",
        module="akri_opcua",
        title="Akri-py OPC UA discovery handler",
        user=ROOT,
        root_reason=_HANDLER_SOCKETS,
    ),
    ImageSpec(
        name="opcua-broker",
        extra="opcua-broker",
        module="akri_opcua_broker",
        title="Akri-py OPC UA monitoring broker (one node's value over OpcuaNode gRPC)",
        ports=(8083,),
    ),
    ImageSpec(
        name="video-streaming-app",
        size_target_mib=70,
        extra="streaming",
        module="akri_streaming",
        title="Akri-py video streaming app (every camera of a Configuration, live, in a web page)",
        ports=(5000,),
    ),
    ImageSpec(
        name="onvif-video-broker",
        extra="onvif-video-broker",
        module="akri_brokers.onvif_video",
        title="Akri-py ONVIF video broker (a camera's newest JPEG over camera.Camera gRPC)",
        ports=(8083,),
    ),
    ImageSpec(
        name="go-names-discovery",
        extra="",
        module="",
        title="Akri-py example discovery handler in Go (devices named in its details)",
        user=ROOT,
        root_reason=_HANDLER_SOCKETS,
        size_target_mib=60,
        native="examples/handlers/go",
        program="names-discovery-handler",
    ),
)

BY_NAME: dict[str, ImageSpec] = {spec.name: spec for spec in IMAGES}


class UnknownImageError(ValueError):
    """A name that no ``ImageSpec`` has."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown image {name[:80]!r} (known: {', '.join(BY_NAME)})")


def select(names: list[str] | tuple[str, ...]) -> tuple[ImageSpec, ...]:
    """The specs for ``names`` (all when empty), in table order."""
    for name in names:
        if name not in BY_NAME:
            raise UnknownImageError(name)
    wanted = set(names)
    return tuple(spec for spec in IMAGES if not wanted or spec.name in wanted)
