"""Image build figures: cold and warm build of the base and of each image, compressed sizes.

- base: the cold figure is the build record the cached base keeps (``AKRI_BENCH_COLD_BASE=1``
  rebuilds it in a cache of its own first, ~100 s), warm is a cache hit;
- images: every app layer and archive built cold in a fresh cache (the base shared), then the
  same build again warm (nothing to do), and once more after a change of the image config only
  (archives rewritten from cached layers, as after a new commit);
- each image's compressed size against its target (``ImageSpec.size_target_mib``: handlers and
  brokers <= 60 MiB; agent, controller and webhook <= 70 MiB).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from akri_images import base
from akri_images.build import MiB, base_cache_root, build_images
from akri_images.catalog import BY_NAME

pytestmark = [pytest.mark.bench, pytest.mark.timeout(1200)]


def test_base_build_cold_and_warm(monkeypatch: pytest.MonkeyPatch) -> None:
    print()
    if os.environ.get("AKRI_BENCH_COLD_BASE") == "1":
        scratch = Path(tempfile.mkdtemp(prefix="akri-base-bench-"))
        try:
            started = time.monotonic()
            cold = base.ensure(scratch, log=lambda _line: None)
            print(f"base cold (fresh cache): {time.monotonic() - started:.1f} s")
            assert cold.layer.size > 0
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    shared = base_cache_root()
    shared.mkdir(parents=True, exist_ok=True)
    built = base.ensure(shared, log=lambda _line: None)
    steps = ", ".join(f"{s['step']} {float(s['seconds']):.1f} s" for s in built.record.steps)
    print(
        f"base {built.key}: cold build (record of {built.record.started}) "
        f"{built.record.total_seconds:.1f} s ({steps}); {built.layer.size / MiB:.1f} MiB compressed"
    )
    samples = []
    for _ in range(3):
        started = time.monotonic()
        base.ensure(shared, log=lambda _line: None)
        samples.append(time.monotonic() - started)
    print(f"base warm (cache hit): median {sorted(samples)[1] * 1000:.1f} ms")


def _run(label: str) -> tuple[float, dict[str, dict[str, object]]]:
    started = time.monotonic()
    build_images((), log=lambda _line: None)
    took = time.monotonic() - started
    summary = json.loads((Path(os.environ["AKRI_IMAGES_CACHE"]) / "last-build.json").read_text())
    print(f"{label}: all images in {took:.1f} s")
    return took, {entry["name"]: entry for entry in summary["images"]}


def test_image_builds_cold_and_warm(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = base_cache_root()
    scratch = Path(tempfile.mkdtemp(prefix="akri-images-bench-"))
    monkeypatch.setenv("AKRI_IMAGES_BASE_CACHE", str(shared))
    monkeypatch.setenv("AKRI_IMAGES_CACHE", str(scratch))
    print()
    try:
        _, cold = _run("cold (fresh cache, base shared)")
        _, warm = _run("warm (everything cached)")
        # Another revision label: only the archives are rewritten, from cached layers.
        monkeypatch.setattr("akri_images.build.revision", lambda *_args: "bench-revision")
        _, relabelled = _run("warm, new revision (archives rewritten)")
        print(
            f"{'image':<22} {'cold s':>7} {'app layer s':>11} {'warm s':>7} "
            f"{'rewrite s':>9} {'MiB':>6} {'target':>6}"
        )
        for name, entry in cold.items():
            size = int(entry["compressed_size"])  # type: ignore[call-overload]
            target = BY_NAME[name].size_target_mib * MiB
            print(
                f"{name:<22} {float(entry['seconds']):>7.1f} "  # type: ignore[arg-type]
                f"{float(entry['app_seconds']):>11.1f} "  # type: ignore[arg-type]
                f"{float(warm[name]['seconds']):>7.2f} "  # type: ignore[arg-type]
                f"{float(relabelled[name]['seconds']):>9.2f} "  # type: ignore[arg-type]
                f"{size / MiB:>6.1f} {target / MiB:>6.0f}"
            )
            assert size <= target, name
        assert not any(entry["app_built"] for entry in warm.values())
        assert not any(entry["archive_written"] for entry in warm.values())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
