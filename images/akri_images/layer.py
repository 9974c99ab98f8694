"""Reproducible image layers: a directory tree as a gzipped tar with fixed times and owners.

A layer's bytes depend only on the files' names, contents, modes and (for the base) numeric
owners: entries are sorted, every mtime is 0, user and group names are empty, gzip carries no
name and no time. ``write_layer`` returns the two digests an OCI image needs: the compressed
blob's (the manifest's ``digest``) and the uncompressed tar's (the config's ``diff_id``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

GZIP_LEVEL = 6


@dataclass(frozen=True)
class Layer:
    """A gzipped layer blob on disk and what an OCI manifest and config say about it."""

    path: Path
    digest: str  # sha256:<hex> of the compressed blob
    diff_id: str  # sha256:<hex> of the uncompressed tar
    size: int  # compressed bytes

    def save(self, meta: Path) -> None:
        data = asdict(self)
        data["path"] = self.path.name
        meta.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, meta: Path) -> Layer | None:
        """The layer described by ``meta`` (next to its blob), or None when either is missing."""
        try:
            data = json.loads(meta.read_text())
            layer = cls(
                path=meta.parent / data["path"],
                digest=data["digest"],
                diff_id=data["diff_id"],
                size=int(data["size"]),
            )
        except (OSError, ValueError, KeyError):
            return None
        return layer if layer.path.is_file() and layer.path.stat().st_size == layer.size else None


class _Hashing:
    """A write-only file that hashes and counts what passes through to ``inner``."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.inner.write(data)

    def flush(self) -> None:
        self.inner.flush()


def _walk(
    directory: Path, skip: Callable[[str], bool], prefix: str = ""
) -> Iterator[tuple[str, Path]]:
    """(archive name, path) for every entry under ``directory``, depth first, names sorted."""
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        name = f"{prefix}{entry.name}"
        if skip(name):
            continue
        yield name, Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), skip, f"{name}/")


def write_layer(
    root: Path,
    out: Path,
    *,
    prefix: str = "",
    keep_owners: bool = False,
    skip: Callable[[str], bool] = lambda _name: False,
) -> Layer:
    """Writes every file under ``root`` (as ``prefix/<relative path>``) into the gzipped tar ``out``.

    ``keep_owners`` keeps numeric owners (a root file system); otherwise everything is 0:0.
    ``skip(name)`` leaves out an entry (and, for a directory, what is below it). Device nodes,
    sockets and FIFOs are never written: a container runtime makes its own ``/dev``.
    """
    names = [p for p in prefix.strip("/").split("/") if p]
    with out.open("wb") as raw:
        compressed = _Hashing(raw)
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=compressed, compresslevel=GZIP_LEVEL, mtime=0
        ) as gz:
            plain = _Hashing(gz)  # type: ignore[arg-type]
            with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for depth in range(len(names)):
                    info = tarfile.TarInfo("/".join(names[: depth + 1]))
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                    tar.addfile(info)
                base = "/".join(names)
                for name, path in _walk(root, skip):
                    _add(tar, path, f"{base}/{name}" if base else name, keep_owners=keep_owners)
    return Layer(
        path=out,
        digest=f"sha256:{compressed.sha.hexdigest()}",
        diff_id=f"sha256:{plain.sha.hexdigest()}",
        size=compressed.size,
    )


def _add(tar: tarfile.TarFile, path: Path, name: str, *, keep_owners: bool) -> None:
    mode = path.lstat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        return
    info = tar.gettarinfo(str(path), arcname=name)
    info.mtime = 0
    info.uname = info.gname = ""
    if not keep_owners:
        info.uid = info.gid = 0
    if info.isreg():
        with path.open("rb") as data:
            tar.addfile(info, data)
    else:
        tar.addfile(info)
