"""App layers: exactly one pyproject extra of akri-py, installed for the image's Python 3.11.

The project is built into a wheel once per run (from a copy of its sources, so the work tree
gets no build directories), then ``pip install --target`` puts the wheel and the extra's pinned
dependencies into a directory that becomes ``/opt/akri/python`` in the image. Console scripts are
dropped (their shebangs name this host's interpreter); bytecode is compiled here in unchecked-hash
mode so that a container never compiles at start. A layer is cached under a key made of the
project's sources, pyproject.toml, the extra and the interpreter version.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from akri_images.catalog import SITE_DIR
from akri_images.layer import Layer, write_layer
from akri_images.records import Record

RECIPE = 2  # 2: extension modules stripped of debug information
PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILDER_DIR = Path(__file__).resolve().parents[1]  # images/, where packages.find finds akri_images
WHEEL_README = "Akri-py: see the project's README.md.\n"
REQUIRED_PYTHON = (3, 11)  # Debian bookworm's python3: same ABI, same bytecode magic


class AppBuildError(RuntimeError):
    """pip or compileall failed; the message names the step and the end of its output."""


@dataclass(frozen=True)
class AppLayer:
    key: str
    layer: Layer
    record: Record
    built: bool  # False when it came from the cache


def check_python() -> None:
    if sys.version_info[:2] != REQUIRED_PYTHON:
        found = ".".join(map(str, sys.version_info[:3]))
        raise AppBuildError(
            f"images need CPython {REQUIRED_PYTHON[0]}.{REQUIRED_PYTHON[1]} (the base image's "
            f"ABI) to install and compile app layers; this is {found}"
        )


def source_dirs(root: Path = PROJECT_ROOT) -> list[Path]:
    """The folders pyproject.toml's packages.find searches (the distribution's sources), but
    ``images/``: an image does not carry its builder, and editing the builder rebuilds no layer."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    found = [root / d for d in pyproject["tool"]["setuptools"]["packages"]["find"]["where"]]
    kept = [d for d in found if d.resolve() != BUILDER_DIR]
    # A folder inside another listed one (services/brokers/opcua in services/brokers) comes along
    # with its parent.
    return [d for d in kept if not any(o != d and o in d.parents for o in kept)]


def extras(root: Path = PROJECT_ROOT) -> dict[str, list[str]]:
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    found: dict[str, list[str]] = pyproject["project"]["optional-dependencies"]
    return found


def _skip(name: str) -> bool:
    part = name.rsplit("/", 1)[-1]
    return part == "__pycache__" or part.endswith((".pyc", ".egg-info")) or part == "build"


def sources_digest(root: Path = PROJECT_ROOT) -> str:
    """A hash of everything that goes into the project's wheel (README.md is replaced)."""
    sha = hashlib.sha256()
    sha.update(b"pyproject.toml\0" + (root / "pyproject.toml").read_bytes())
    for directory in source_dirs(root):
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if any(_skip(part) for part in relative.split("/")) or not path.is_file():
                continue
            sha.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def cache_key(extra: str, sources: str) -> str:
    facts = f"{RECIPE}\0{extra}\0{sources}\0{SITE_DIR}\0{sys.version_info[:2]}"
    return f"app-{extra}-{hashlib.sha256(facts.encode()).hexdigest()[:12]}"


def cached(cache: Path, key: str) -> AppLayer | None:
    layer = Layer.load(cache / key / "layer.json")
    record = Record.load(cache / key / "build-record.json")
    if layer is None or record is None:
        return None
    return AppLayer(key=key, layer=layer, record=record, built=False)


class WheelBuilder:
    """Builds the project's wheel at most once, on first use, in a scratch directory."""

    def __init__(self, scratch: Path, root: Path = PROJECT_ROOT) -> None:
        self._scratch = scratch
        self._root = root
        self._wheel: Path | None = None

    def wheel(self, record: Record) -> Path:
        if self._wheel is None:
            with record.step("wheel"):
                self._wheel = self._build()
        return self._wheel

    def _build(self) -> Path:
        source = self._scratch / "src"
        source.mkdir(parents=True)
        shutil.copy2(self._root / "pyproject.toml", source / "pyproject.toml")
        # The wheel's long description only: a fixed text, so README edits rebuild no layer.
        (source / "README.md").write_text(WHEEL_README)
        (source / BUILDER_DIR.relative_to(self._root)).mkdir()  # named by packages.find
        for directory in source_dirs(self._root):
            shutil.copytree(
                directory,
                source / directory.relative_to(self._root),
                ignore=lambda _d, names: [n for n in names if _skip(n)],
            )
        out = self._scratch / "wheel"
        _pip(["wheel", "--no-deps", "--wheel-dir", str(out), str(source)], what="pip wheel")
        (wheel,) = out.glob("*.whl")
        return wheel


def ensure(
    cache: Path, *, extra: str, wheels: WheelBuilder, sources: str, log: Callable[[str], None]
) -> AppLayer:
    key = cache_key(extra, sources)
    found = cached(cache, key)
    if found is not None:
        return found
    if extra not in extras():
        raise AppBuildError(f"pyproject.toml has no extra {extra!r}")
    log(f"app layer {key}: pip install --target '.[{extra}]'")
    work = cache / f".{key}.{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    record = Record.start(component=f"app-{extra}", key=key)
    try:
        wheel = wheels.wheel(record)
        site = work / "site"
        with record.step("pip-install"):
            _pip(
                [
                    "install",
                    "--no-compile",
                    "--no-warn-script-location",
                    "--target",
                    str(site),
                    f"{wheel}[{extra}]",
                ],
                what=f"pip install .[{extra}]",
            )
            _tidy(site)
        with record.step("compile"):
            _compile(site)
        with record.step("layer"):
            layer = write_layer(site, work / "layer.tar.gz", prefix=SITE_DIR)
        layer.save(work / "layer.json")
        shutil.rmtree(site)
        record.finish(work / "build-record.json", size=layer.size)
        final = cache / key
        shutil.rmtree(final, ignore_errors=True)
        work.rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    built = cached(cache, key)
    assert built is not None
    return AppLayer(key=key, layer=built.layer, record=built.record, built=True)


def _pip(args: list[str], *, what: str) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "-q", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise AppBuildError(f"{what} failed with exit code {done.returncode}:\n{tail}")


def _tidy(site: Path) -> None:
    """Drops what would differ between builds or point at this host."""
    shutil.rmtree(site / "bin", ignore_errors=True)
    for path in site.glob("*.dist-info/direct_url.json"):
        path.unlink()
    for path in site.glob("*.dist-info/RECORD"):
        # RECORD lists direct_url.json and the console scripts removed above.
        lines = [
            line
            for line in path.read_text().splitlines()
            if "direct_url.json" not in line and not line.startswith("../")
        ]
        path.write_text("\n".join(lines) + "\n")
    for stale in site.rglob("__pycache__"):
        shutil.rmtree(stale)
    # Some wheels ship their extension modules with debug information (aiohttp's, yarl's, ...):
    # several MiB of each image that nothing at run time reads.
    libraries = sorted(str(p) for p in site.rglob("*.so") if p.is_file())
    if libraries:
        subprocess.run(["strip", "--strip-debug", *libraries], check=True, capture_output=True)


def _compile(site: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-j0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(site),
            "-p",
            SITE_DIR,
            str(site),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise AppBuildError(f"compileall failed with exit code {done.returncode}:\n{tail}")
