"""Building images and finding them: ``build(names)`` and ``locate(build=False)``.

Cache layout (outside the tree; ``$AKRI_IMAGES_CACHE``, default ``~/.cache/akri-images``)::

    base-bookworm-<hash>/   layer.tar.gz layer.json build-record.json   ($AKRI_IMAGES_BASE_CACHE
                                                                          if set, else the cache)
    app-<extra>-<hash>/     layer.tar.gz layer.json build-record.json
    archives/<name>-<version>.oci.tar   the OCI archive, and <name>-<version>.json describing it
    last-build.json         what the latest ``build`` did and how long each part took

An archive is current when its description's key (base layer, app layer, runtime config) matches
what the sources give now; ``locate`` answers only with current archives. A lock file keeps two
builds (``make images`` and a test run) from writing the same cache at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from akri_images import app, base, native
from akri_images.catalog import (
    LICENSES,
    SITE_DIR,
    SOURCE_URL,
    ImageSpec,
    select,
)
from akri_images.layer import Layer
from akri_images.oci import RuntimeConfig, write_archive

MiB = 1024 * 1024


class ImagesNotBuiltError(LookupError):
    """``locate()`` found no current archive for some images: run ``make images``."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        super().__init__(
            f"images not built or out of date: {', '.join(names)} "
            "(run `make images`, or locate(build=True))"
        )


@dataclass(frozen=True)
class ImageArchive:
    """One built image: its name, where its OCI archive is, and what identifies it."""

    name: str  # e.g. "agent"
    ref: str  # e.g. "akri-py/agent:0.1.0" (repository:tag, as the chart writes it)
    full_name: str  # e.g. "docker.io/akri-py/agent:0.1.0" (as containerd stores it)
    path: Path  # the OCI archive (oci-archive:<path> for skopeo; ctr images import <path>)
    manifest_digest: str  # sha256:...
    compressed_size: int  # bytes: the gzipped layers (what a registry would send)
    user: str  # "uid:gid" the entrypoint runs as


def cache_root() -> Path:
    return Path(os.environ.get("AKRI_IMAGES_CACHE") or Path.home() / ".cache/akri-images")


def base_cache_root() -> Path:
    return Path(os.environ.get("AKRI_IMAGES_BASE_CACHE") or cache_root())


def project_version(root: Path = app.PROJECT_ROOT) -> str:
    version: str = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    return version


def revision(root: Path = app.PROJECT_ROOT) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def runtime_config(spec: ImageSpec, *, version: str, rev: str) -> RuntimeConfig:
    if spec.native:
        return RuntimeConfig(
            entrypoint=spec.entrypoint,
            env=(("PATH", "/"),),
            user=spec.user,
            labels=_labels(spec, version=version, rev=rev),
            exposed_ports=spec.ports,
            history=(f"{spec.native}/build.sh --out /{spec.program} (static)",),
        )
    return RuntimeConfig(
        entrypoint=spec.entrypoint,
        env=(
            ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            ("LANG", "C.UTF-8"),
            ("PYTHONPATH", SITE_DIR),
            ("PYTHONUNBUFFERED", "1"),
            ("PYTHONDONTWRITEBYTECODE", "1"),
            # gRPC core writes its INFO lines (a "Got goaway" when a peer stops) as plain text on
            # stderr, outside the JSON log, and reads this only when grpc is imported.
            ("GRPC_VERBOSITY", "ERROR"),
            ("LOG_FORMAT", "json"),
            ("LOG_OUTPUT", "stdout"),
        ),
        user=spec.user,
        labels=_labels(spec, version=version, rev=rev),
        exposed_ports=spec.ports,
        history=(
            f"debootstrap --variant={base.VARIANT} {base.SUITE} + {' '.join(base.PACKAGES)}",
            f"pip install --target {SITE_DIR} '.[{spec.extra}]'",
        ),
    )


def _labels(spec: ImageSpec, *, version: str, rev: str) -> dict[str, str]:
    return {
        "org.opencontainers.image.title": spec.title,
        "org.opencontainers.image.source": SOURCE_URL,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": rev,
        "org.opencontainers.image.licenses": LICENSES,
        "org.opencontainers.image.ref.name": spec.ref(version),
    }


def _archive_key(spec: ImageSpec, base_key: str, app_key: str, runtime: RuntimeConfig) -> str:
    facts = json.dumps(
        {"base": base_key, "app": app_key, "runtime": repr(runtime), "spec": repr(spec)},
        sort_keys=True,
    )
    return hashlib.sha256(facts.encode()).hexdigest()


def _paths(spec: ImageSpec, version: str) -> tuple[Path, Path]:
    folder = cache_root() / "archives"
    return folder / f"{spec.name}-{version}.oci.tar", folder / f"{spec.name}-{version}.json"


def _current(spec: ImageSpec, key: str, version: str) -> ImageArchive | None:
    archive, meta = _paths(spec, version)
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None
    if data.get("key") != key or not archive.is_file():
        return None
    if archive.stat().st_size != data.get("archive_size"):
        return None
    return ImageArchive(
        name=spec.name,
        ref=spec.ref(version),
        full_name=spec.full_name(version),
        path=archive,
        manifest_digest=data["manifest_digest"],
        compressed_size=int(data["compressed_size"]),
        user=spec.user,
    )


@contextmanager
def _locked() -> Iterator[None]:
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def locate(build: bool = False) -> dict[str, ImageArchive]:
    """Every image's current archive, by name; with ``build``, builds what is missing first.

    Raises ``ImagesNotBuiltError`` (naming the images) when ``build`` is false and some archive is
    missing or older than the sources.
    """
    if build:
        return {a.name: a for a in build_images((), log=lambda _line: None)}
    version, rev = project_version(), revision()
    sources = app.sources_digest()
    base_key = base.cache_key()
    found: dict[str, ImageArchive] = {}
    missing: list[str] = []
    for spec in select(()):
        runtime = runtime_config(spec, version=version, rev=rev)
        if spec.native:
            key = _archive_key(spec, "scratch", native.cache_key(spec), runtime)
        else:
            key = _archive_key(spec, base_key, app.cache_key(spec.extra, sources), runtime)
        current = _current(spec, key, version)
        if current is None:
            missing.append(spec.name)
        else:
            found[spec.name] = current
    if missing:
        raise ImagesNotBuiltError(missing)
    return found


def build_images(names: Sequence[str], *, log: Callable[[str], None] = print) -> list[ImageArchive]:
    """Builds the named images (all when empty), reusing every cached layer and archive."""
    app.check_python()
    specs = select(tuple(names))
    version, rev = project_version(), revision()
    summary: dict[str, object] = {"version": version, "revision": rev, "images": []}
    images: list[dict[str, object]] = []
    built: list[ImageArchive] = []
    with _locked(), tempfile.TemporaryDirectory(prefix="akri-images-") as scratch:
        started = time.monotonic()
        base_cached = base.cached(base_cache_root()) is not None
        base_cache_root().mkdir(parents=True, exist_ok=True)
        the_base = base.ensure(base_cache_root(), log=log)
        base_seconds = time.monotonic() - started
        log(
            f"base {the_base.key}: {the_base.layer.size / MiB:.1f} MiB compressed, "
            + ("cached" if base_cached else f"built in {base_seconds:.1f} s")
            + f" (cold build: {the_base.record.total_seconds:.1f} s)"
        )
        summary["base"] = {
            "key": the_base.key,
            "cached": base_cached,
            "seconds": round(base_seconds, 2),
            "cold_seconds": the_base.record.total_seconds,
            "compressed_size": the_base.layer.size,
        }
        wheels = app.WheelBuilder(Path(scratch))
        sources = app.sources_digest()
        for spec in specs:
            began = time.monotonic()
            if spec.native:
                layer = native.ensure(cache_root(), spec, log=log)
                layers, base_key = [layer.layer], "scratch"
            else:
                layer = app.ensure(
                    cache_root(), extra=spec.extra, wheels=wheels, sources=sources, log=log
                )
                layers, base_key = [the_base.layer, layer.layer], the_base.key
            app_seconds = time.monotonic() - began
            runtime = runtime_config(spec, version=version, rev=rev)
            key = _archive_key(spec, base_key, layer.key, runtime)
            archive = _current(spec, key, version)
            fresh = archive is None
            if archive is None:
                archive = _write(spec, key, version, layers, runtime)
            seconds = time.monotonic() - began
            log(
                f"{spec.name:<22} {archive.ref:<36} {archive.compressed_size / MiB:6.1f} MiB"
                f"  {seconds:6.1f} s  (target {spec.size_target_mib} MiB)"
                + ("" if fresh else "  (up to date)")
                + ("" if not layer.built else f"  (app layer built in {app_seconds:.1f} s)")
            )
            images.append(
                {
                    "name": spec.name,
                    "app_key": layer.key,
                    "app_built": layer.built,
                    "app_seconds": round(app_seconds, 2),
                    "app_cold_seconds": layer.record.total_seconds,
                    "archive_written": fresh,
                    "seconds": round(seconds, 2),
                    "compressed_size": archive.compressed_size,
                    "manifest_digest": archive.manifest_digest,
                }
            )
            built.append(archive)
        summary["images"] = images
        summary["total_seconds"] = round(time.monotonic() - started, 2)
        (cache_root() / "last-build.json").write_text(json.dumps(summary, indent=2) + "\n")
    return built


def _write(
    spec: ImageSpec, key: str, version: str, layers: list[Layer], runtime: RuntimeConfig
) -> ImageArchive:
    archive, meta = _paths(spec, version)
    archive.parent.mkdir(parents=True, exist_ok=True)
    written = write_archive(
        archive, layers=layers, runtime=runtime, name=spec.full_name(version), tag=version
    )
    compressed = sum(layer.size for layer in layers)
    description = {
        "key": key,
        "ref": spec.ref(version),
        "manifest_digest": written.manifest_digest,
        "config_digest": written.config_digest,
        "compressed_size": compressed,
        "archive_size": archive.stat().st_size,
    }
    meta.write_text(json.dumps(description, indent=2) + "\n")
    found = _current(spec, key, version)
    assert found is not None
    return found


def records() -> dict[str, str]:
    """Where the build records of the current base and app layers are (existing ones only)."""
    sources = app.sources_digest()
    found = {"base": base_cache_root() / base.cache_key() / "build-record.json"}
    for spec in select(()):
        if spec.native:
            key = native.cache_key(spec)
            found[key.rsplit("-", 1)[0]] = cache_root() / key / "build-record.json"
            continue
        key = app.cache_key(spec.extra, sources)
        found[f"app-{spec.extra}"] = cache_root() / key / "build-record.json"
    return {name: str(path) for name, path in found.items() if path.is_file()}


def describe(archive: ImageArchive) -> dict[str, object]:
    data = asdict(archive)
    data["path"] = str(archive.path)
    return data
