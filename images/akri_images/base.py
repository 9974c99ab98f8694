"""The base image layer: Debian bookworm (debootstrap minbase) with python3, built once and cached.

The cache key is a hash of everything that decides the layer's contents: the suite, the variant,
the mirror, the package list and the trimming rules (``RECIPE``). A cached base is reused until
one of them changes. Trimmed: apt lists and caches, documentation (each package's copyright file
is kept), man and info pages, locales, logs. The standard library's bytecode is recompiled in
unchecked-hash mode: layers carry mtime 0, so timestamp-checked ``.pyc`` files would look stale
and every start would recompile (on a read-only root, every start, against a CPU limit).
The base also defines the non-root ``akri`` user (65532:65532) that images run as where they can.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from akri_images.catalog import NONROOT, NONROOT_NAME
from akri_images.layer import Layer, write_layer
from akri_images.records import Record

SUITE = "bookworm"
VARIANT = "minbase"
PACKAGES: tuple[str, ...] = ("python3", "libudev1")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
TRIM_GLOBS: tuple[str, ...] = (
    "var/lib/apt/lists/*",
    "var/cache/apt/*",
    "var/cache/debconf/*-old",
    "var/log/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/*",
    "usr/share/lintian/*",
    "usr/share/linda/*",
    "usr/share/doc-base/*",
)
# Bump when what ``prepare`` does changes in a way the lists above do not show.
RECIPE = 2


class BaseBuildError(RuntimeError):
    """debootstrap (or a step after it) failed; the message names the step and its output."""


@dataclass(frozen=True)
class BaseLayer:
    key: str
    layer: Layer
    record: Record


def mirror() -> str:
    return os.environ.get("AKRI_IMAGES_MIRROR", DEFAULT_MIRROR)


def cache_key() -> str:
    facts = {
        "suite": SUITE,
        "variant": VARIANT,
        "packages": sorted(PACKAGES),
        "mirror": mirror(),
        "trim": TRIM_GLOBS,
        "recipe": RECIPE,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:12]
    return f"base-{SUITE}-{digest}"


def cached(cache: Path) -> BaseLayer | None:
    """The cached base for the current package list, or None."""
    key = cache_key()
    layer = Layer.load(cache / key / "layer.json")
    record = Record.load(cache / key / "build-record.json")
    if layer is None or record is None:
        return None
    return BaseLayer(key=key, layer=layer, record=record)


def ensure(cache: Path, *, log: Callable[[str], None] = print) -> BaseLayer:
    """The cached base, built first when missing (one builder at a time per cache)."""
    found = cached(cache)
    if found is not None:
        return found
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".base.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return cached(cache) or _build(cache, log=log)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(cache: Path, *, log: Callable[[str], None]) -> BaseLayer:
    key = cache_key()
    final = cache / key
    work = cache / f".{key}.{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    record = Record.start(component="base", key=key)
    try:
        rootfs = work / "rootfs"
        log(f"base: debootstrap --variant={VARIANT} {SUITE} + {', '.join(PACKAGES)}")
        with record.step("debootstrap"):
            _run(
                [
                    "debootstrap",
                    f"--variant={VARIANT}",
                    f"--include={','.join(PACKAGES)}",
                    SUITE,
                    str(rootfs),
                    mirror(),
                ],
                what="debootstrap",
            )
        _check_unmounted(rootfs)
        with record.step("trim"):
            _trim(rootfs)
            _add_user(rootfs)
        with record.step("compile"):
            _compile_stdlib(rootfs)
        with record.step("layer"):
            layer = write_layer(
                rootfs,
                work / "layer.tar.gz",
                keep_owners=True,
                skip=lambda name: name.split("/", 1)[0] in {"dev", "proc", "sys"} and "/" in name,
            )
        layer.save(work / "layer.json")
        shutil.rmtree(rootfs)
        record.finish(work / "build-record.json", size=layer.size)
        shutil.rmtree(final, ignore_errors=True)
        work.rename(final)
    finally:
        if work.exists():
            _check_unmounted(work)
            shutil.rmtree(work, ignore_errors=True)
    found = cached(cache)
    assert found is not None
    return found


def _run(argv: list[str], *, what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise BaseBuildError(f"{what} failed with exit code {done.returncode}:\n{tail}")


def _check_unmounted(root: Path) -> None:
    """Refuses to go on (or delete) while anything is still mounted below ``root``."""
    prefix = str(root.resolve()) + "/"
    with open("/proc/self/mounts") as mounts:
        below = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    if below:
        raise BaseBuildError(f"still mounted below {root}: {', '.join(below)}")


def _trim(rootfs: Path) -> None:
    for pattern in TRIM_GLOBS:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    doc = rootfs / "usr/share/doc"
    for path in sorted(doc.rglob("*"), reverse=True):
        if path.is_symlink() or path.is_file():
            if path.name != "copyright":
                path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for stale in rootfs.rglob("__pycache__"):
        shutil.rmtree(stale)


def _add_user(rootfs: Path) -> None:
    uid, gid = NONROOT.split(":")
    with (rootfs / "etc/passwd").open("a") as passwd:
        passwd.write(f"{NONROOT_NAME}:x:{uid}:{gid}:Akri-py:/nonexistent:/usr/sbin/nologin\n")
    with (rootfs / "etc/group").open("a") as group:
        group.write(f"{NONROOT_NAME}:x:{gid}:\n")


def _compile_stdlib(rootfs: Path) -> None:
    """Unchecked-hash bytecode for the image's Python, compiled by this (same 3.11) interpreter."""
    dirs = [
        str(p)
        for p in (rootfs / "usr/lib/python3.11", rootfs / "usr/lib/python3/dist-packages")
        if p.is_dir()
    ]
    _run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-f",
            "-j0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(rootfs),
            "-p",
            "/",
            "-x",
            r"/(test|tests|idle_test|lib2to3/tests)/",
            *dirs,
        ],
        what="compileall (standard library)",
    )
