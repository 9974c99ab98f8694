"""The layer of an image whose program is not Python: one static binary, built by its folder's
``build.sh --out PATH`` (the Go example handler), cached by a hash of that folder's sources.

The image is that one layer (no base): a static binary needs no libc, shell or Python.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from akri_images.app import PROJECT_ROOT, AppBuildError, AppLayer, cached
from akri_images.catalog import ImageSpec
from akri_images.layer import write_layer
from akri_images.records import Record

RECIPE = "native-1"
IGNORED = ("bin",)


def sources_digest(spec: ImageSpec, root: Path = PROJECT_ROOT) -> str:
    sha = hashlib.sha256(RECIPE.encode())
    folder = root / spec.native
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if relative.parts[0] in IGNORED or not path.is_file():
            continue
        sha.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def cache_key(spec: ImageSpec, root: Path = PROJECT_ROOT) -> str:
    return f"native-{spec.name}-{sources_digest(spec, root)[:12]}"


def ensure(cache: Path, spec: ImageSpec, *, log: Callable[[str], None]) -> AppLayer:
    """The spec's program as a layer at ``/<program>``, built unless cached."""
    key = cache_key(spec)
    found = cached(cache, key)
    if found is not None:
        return found
    log(f"native layer {key}: {spec.native}/build.sh")
    work = cache / f".{key}.{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "root").mkdir(parents=True)
    record = Record.start(component=key.rsplit("-", 1)[0], key=key)
    try:
        with record.step("build"):
            done = subprocess.run(
                [
                    "bash",
                    str(PROJECT_ROOT / spec.native / "build.sh"),
                    "--out",
                    str(work / "root" / spec.program),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise AppBuildError(f"{spec.native}/build.sh: {done.stderr.strip()[-2000:]}")
        with record.step("layer"):
            layer = write_layer(work / "root", work / "layer.tar.gz")
        layer.save(work / "layer.json")
        shutil.rmtree(work / "root")
        record.finish(work / "build-record.json", size=layer.size)
        final = cache / key
        shutil.rmtree(final, ignore_errors=True)
        work.rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    built = cached(cache, key)
    assert built is not None
    return AppLayer(key=key, layer=built.layer, record=built.record, built=True)
