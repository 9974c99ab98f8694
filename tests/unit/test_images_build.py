"""Pure parts of the image builder: the catalog's rules, reproducible layers and archives."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from akri_images import ImagesNotBuiltError, locate
from akri_images.catalog import BY_NAME, IMAGES, NONROOT, ROOT, ImageSpec, UnknownImageError, select
from akri_images.layer import Layer, write_layer
from akri_images.oci import RuntimeConfig, write_archive


def test_names_are_unique_and_follow_one_scheme() -> None:
    assert len(BY_NAME) == len(IMAGES)
    for spec in IMAGES:
        assert spec.ref("1.2.3") == f"akri-py/{spec.name}:1.2.3"
        assert spec.full_name("1.2.3") == f"docker.io/akri-py/{spec.name}:1.2.3"
        if spec.native:
            assert spec.entrypoint == (f"/{spec.program}",)
            assert not spec.extra
        else:
            assert spec.entrypoint[:2] == ("python3", "-m")


def test_root_only_with_a_reason() -> None:
    for spec in IMAGES:
        assert (spec.user == ROOT) == bool(spec.root_reason)
    with pytest.raises(ValueError, match="root_reason"):
        ImageSpec(name="x", extra="x", module="x", title="x", user=ROOT)
    assert BY_NAME["controller"].user == NONROOT


def test_select() -> None:
    assert select(()) == IMAGES
    assert [s.name for s in select(("udev-broker", "agent"))] == ["agent", "udev-broker"]
    with pytest.raises(UnknownImageError, match="'nope'"):
        select(("nope",))


def _tree(root: Path) -> None:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("A = 1\n")
    (root / "pkg" / "sub" / "b.txt").write_text("b")
    (root / "pkg" / "link").symlink_to("a.py")


def test_layers_are_reproducible_with_fixed_times_and_owners(tmp_path: Path) -> None:
    _tree(tmp_path / "one")
    _tree(tmp_path / "two")
    (tmp_path / "two" / "pkg" / "a.py").touch()  # a different mtime changes nothing
    first = write_layer(tmp_path / "one", tmp_path / "1.tar.gz", prefix="/opt/akri/python")
    second = write_layer(tmp_path / "two", tmp_path / "2.tar.gz", prefix="/opt/akri/python")
    assert (first.digest, first.diff_id, first.size) == (second.digest, second.diff_id, second.size)
    data = (tmp_path / "1.tar.gz").read_bytes()
    assert first.digest == f"sha256:{hashlib.sha256(data).hexdigest()}"
    with tarfile.open(tmp_path / "1.tar.gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == [
        "opt",
        "opt/akri",
        "opt/akri/python",
        "opt/akri/python/pkg",
        "opt/akri/python/pkg/a.py",
        "opt/akri/python/pkg/link",
        "opt/akri/python/pkg/sub",
        "opt/akri/python/pkg/sub/b.txt",
    ]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}


def test_layer_skips_device_nodes_and_what_skip_names(tmp_path: Path) -> None:
    _tree(tmp_path / "root")
    layer = write_layer(
        tmp_path / "root", tmp_path / "l.tar.gz", skip=lambda name: name == "pkg/sub"
    )
    with tarfile.open(layer.path) as tar:
        assert "pkg/sub" not in tar.getnames()
        assert "pkg/sub/b.txt" not in tar.getnames()
    layer.save(tmp_path / "l.json")
    assert Layer.load(tmp_path / "l.json") == layer
    layer.path.write_bytes(b"truncated")
    assert Layer.load(tmp_path / "l.json") is None


def test_archives_are_reproducible_and_name_the_image(tmp_path: Path) -> None:
    _tree(tmp_path / "root")
    layer = write_layer(tmp_path / "root", tmp_path / "l.tar.gz")
    runtime = RuntimeConfig(
        entrypoint=("python3", "-m", "x"),
        env=(("A", "1"),),
        user=NONROOT,
        labels={"org.opencontainers.image.version": "0.1.0"},
        exposed_ports=(8080,),
    )
    kwargs = {"layers": [layer], "runtime": runtime, "name": "docker.io/a/b:0.1.0", "tag": "0.1.0"}
    first = write_archive(tmp_path / "1.tar", **kwargs)  # type: ignore[arg-type]
    second = write_archive(tmp_path / "2.tar", **kwargs)  # type: ignore[arg-type]
    assert first == second
    assert (tmp_path / "1.tar").read_bytes() == (tmp_path / "2.tar").read_bytes()
    with tarfile.open(tmp_path / "1.tar") as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        (entry,) = index["manifests"]
        assert entry["digest"] == first.manifest_digest
        assert entry["annotations"] == {
            "io.containerd.image.name": "docker.io/a/b:0.1.0",
            "org.opencontainers.image.ref.name": "0.1.0",
        }
        manifest = json.load(
            tar.extractfile("blobs/sha256/" + first.manifest_digest[7:])  # type: ignore[arg-type]
        )
        config = json.load(
            tar.extractfile("blobs/sha256/" + first.config_digest[7:])  # type: ignore[arg-type]
        )
        blob = tar.extractfile("blobs/sha256/" + layer.digest[7:])
        assert blob is not None
        assert io.BytesIO(blob.read()).getbuffer().nbytes == layer.size
    assert manifest["layers"] == [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": layer.digest,
            "size": layer.size,
        }
    ]
    assert config["rootfs"]["diff_ids"] == [layer.diff_id]
    assert config["config"]["User"] == NONROOT
    assert config["config"]["ExposedPorts"] == {"8080/tcp": {}}


def test_locate_names_every_missing_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKRI_IMAGES_CACHE", str(tmp_path))
    with pytest.raises(ImagesNotBuiltError) as missing:
        locate()
    assert missing.value.names == tuple(spec.name for spec in IMAGES)
    assert "make images" in str(missing.value)
