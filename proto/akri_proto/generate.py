"""Regenerates the Python for every .proto under ``akri_proto``.

For each ``x.proto`` it writes ``x_pb2.py`` and ``x_pb2.pyi`` (messages), ``x_pb2_grpc.py`` (gRPC
stubs and servicers) and ``x_pb2_grpc.pyi`` (their types, by mypy-protobuf). ``--out DIR`` writes into
another tree so that a test can compare the result with the committed files.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent.parent
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def proto_sources(root: Path = PROTO_ROOT) -> list[Path]:
    """Every .proto under ``akri_proto``, relative to the proto root, in a stable order."""
    return sorted(p.relative_to(root) for p in (root / "akri_proto").rglob("*.proto"))


def generated_files(root: Path) -> list[Path]:
    """Every generated file under ``root/akri_proto``, relative to ``root``."""
    return sorted(
        p.relative_to(root)
        for p in (root / "akri_proto").rglob("*")
        if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    )


def _plugin(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit(f"generate: {name} not found next to {sys.executable}; run `make setup`")
    return found


def generate(out: Path) -> None:
    """Runs protoc over every source, writing into ``out`` (the proto root or a scratch tree)."""
    out.mkdir(parents=True, exist_ok=True)
    include = str(Path(protoc.__file__).parent / "_proto")
    for source in proto_sources():
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{include}",
            f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            f"--mypy_grpc_out={out}",
            str(source),
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"generate: protoc failed for {source}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=PROTO_ROOT, help="root to write into")
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
