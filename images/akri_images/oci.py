"""OCI image archives (an OCI image layout in a tar) written with the standard library.

An archive holds ``oci-layout``, ``index.json`` naming one manifest, the manifest, the image
config and the layer blobs under ``blobs/sha256/``. Everything is content-addressed and every
tar entry has mtime 0 and owner 0:0, so the same layers and config give the same bytes.
The index names the image twice, as containerd's ``ctr images import`` and as skopeo read it:
``io.containerd.image.name`` (the full name) and ``org.opencontainers.image.ref.name`` (the tag).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from akri_images.layer import Layer

EPOCH = "1970-01-01T00:00:00Z"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass(frozen=True)
class RuntimeConfig:
    """What a runtime needs to start the image (the ``config`` object of an OCI image config)."""

    entrypoint: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    user: str
    labels: Mapping[str, str]
    cmd: tuple[str, ...] = ()
    working_dir: str = "/"
    exposed_ports: tuple[int, ...] = ()
    stop_signal: str = "SIGTERM"
    history: tuple[str, ...] = field(default=())  # one "created_by" line per layer


@dataclass(frozen=True)
class Written:
    manifest_digest: str
    config_digest: str


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def image_config(layers: Sequence[Layer], runtime: RuntimeConfig) -> bytes:
    """The image config JSON (canonical, so its digest is stable)."""
    config: dict[str, Any] = {
        "Entrypoint": list(runtime.entrypoint),
        "Env": [f"{k}={v}" for k, v in runtime.env],
        "User": runtime.user,
        "WorkingDir": runtime.working_dir,
        "Labels": dict(runtime.labels),
        "StopSignal": runtime.stop_signal,
    }
    if runtime.cmd:
        config["Cmd"] = list(runtime.cmd)
    if runtime.exposed_ports:
        config["ExposedPorts"] = {f"{p}/tcp": {} for p in runtime.exposed_ports}
    history = list(runtime.history) or ["layer"] * len(layers)
    return _canonical(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": EPOCH,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
            "history": [{"created": EPOCH, "created_by": line} for line in history],
        }
    )


def write_archive(
    out: Path,
    *,
    layers: Sequence[Layer],
    runtime: RuntimeConfig,
    name: str,
    tag: str,
) -> Written:
    """Writes the OCI archive ``out`` (atomically: a temporary file renamed over it)."""
    config = image_config(layers, runtime)
    manifest = _canonical(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": {"mediaType": MEDIA_CONFIG, "digest": _digest(config), "size": len(config)},
            "layers": [
                {"mediaType": MEDIA_LAYER, "digest": layer.digest, "size": layer.size}
                for layer in layers
            ],
            "annotations": dict(runtime.labels),
        }
    )
    index = _canonical(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_INDEX,
            "manifests": [
                {
                    "mediaType": MEDIA_MANIFEST,
                    "digest": _digest(manifest),
                    "size": len(manifest),
                    "annotations": {
                        "io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": tag,
                    },
                }
            ],
        }
    )
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            for directory in ("blobs", "blobs/sha256"):
                info = tarfile.TarInfo(directory)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            _add_bytes(tar, "oci-layout", _canonical({"imageLayoutVersion": "1.0.0"}))
            _add_bytes(tar, "index.json", index)
            _add_bytes(tar, _blob_name(_digest(manifest)), manifest)
            _add_bytes(tar, _blob_name(_digest(config)), config)
            seen: set[str] = set()
            for layer in layers:
                if layer.digest in seen:
                    continue
                seen.add(layer.digest)
                info = tarfile.TarInfo(_blob_name(layer.digest))
                info.size, info.mode = layer.size, 0o644
                with layer.path.open("rb") as blob:
                    tar.addfile(info, blob)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return Written(manifest_digest=_digest(manifest), config_digest=_digest(config))


def _blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest.removeprefix("sha256:")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))
