"""The images, built from a clean cache, read by skopeo and umoci, and run for real under runc.

One module-scoped build: ``python -m akri_images build`` (what ``make images`` runs) into a fresh
cache directory; only the Debian base comes from the shared cache (``AKRI_IMAGES_BASE_CACHE``;
built there first if missing, ~100 s), so every app layer and archive is built here (~3 min).
``AKRI_IMAGES_TEST_CACHE=<dir>`` reuses (and keeps) a cache directory instead, to iterate quickly.
Each image's entrypoint then runs under Debian's runc, from a bundle umoci unpacked, with a
read-only root file system and the image's own user.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from akri_testbed.cluster import Cluster

from akri_images import IMAGES, ImageArchive, locate
from akri_images.build import MiB, base_cache_root, revision
from akri_images.catalog import BY_NAME, LICENSES, SITE_DIR, SOURCE_URL
from tests.support.runc import Bundle, Running, unpack

pytestmark = pytest.mark.timeout(900)

# The setting each entrypoint must name when started with nothing set.
MISSING = {
    "agent": "AGENT_NODE_NAME",
    "controller": "KUBECONFIG",
    "webhook-configuration": "--tls-crt-file",
    "udev-discovery": "DISCOVERY_HANDLERS_DIRECTORY",
    "onvif-discovery": "DISCOVERY_HANDLERS_DIRECTORY",
    "debug-echo-discovery": "DEBUG_ECHO_INSTANCES_SHARED",
    "debug-echo-broker": "DEBUG_ECHO_DESCRIPTION",
    "udev-broker": "UDEV_DEVNODE",
    "udev-video-broker": "UDEV_DEVNODE",
    "opcua-discovery": "DISCOVERY_HANDLERS_DIRECTORY",
    "opcua-broker": "OPCUA_DISCOVERY_URL",
    "video-streaming-app": "CONFIGURATION_NAME",
    "onvif-video-broker": "ONVIF_PROFILE",
    "go-names-discovery": "DISCOVERY_HANDLERS_DIRECTORY",
}


def _shared_base_cache() -> Path:
    return Path(
        os.environ.get("AKRI_IMAGES_BASE_CACHE")
        or os.environ.get("AKRI_IMAGES_CACHE")
        or Path.home() / ".cache/akri-images"
    )


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, ImageArchive]]]:
    reuse = os.environ.get("AKRI_IMAGES_TEST_CACHE")
    cache = Path(reuse) if reuse else tmp_path_factory.mktemp("images-cache")
    env = {
        **os.environ,
        "AKRI_IMAGES_CACHE": str(cache),
        "AKRI_IMAGES_BASE_CACHE": str(_shared_base_cache()),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "akri_images", "build"],
        env=env,
        capture_output=True,
        text=True,
        timeout=850,
        check=False,
    )
    print(f"make images from a clean cache: {time.monotonic() - started:.0f} s\n{done.stdout}")
    assert done.returncode == 0, done.stdout + done.stderr
    shared_base = _shared_base_cache()  # read before AKRI_IMAGES_CACHE points at the test's cache
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AKRI_IMAGES_CACHE", str(cache))
        patch.setenv("AKRI_IMAGES_BASE_CACHE", str(shared_base))
        assert base_cache_root() == _shared_base_cache() == shared_base
        yield done.stdout, locate()
    if not reuse:
        shutil.rmtree(cache, ignore_errors=True)


class Bundles:
    """Runtime bundles unpacked by umoci on first use, one per image, removed at the end."""

    def __init__(self, images: dict[str, ImageArchive], root: Path) -> None:
        self._images = images
        self._root = root
        self._made: dict[str, Bundle] = {}

    def __getitem__(self, name: str) -> Bundle:
        if name not in self._made:
            archive = self._images[name]
            self._made[name] = unpack(
                archive.path, archive.ref.rsplit(":", 1)[1], self._root / name
            )
        return self._made[name]

    def cleanup(self) -> None:
        for bundle in self._made.values():
            bundle.cleanup()
        subprocess.run(["rm", "-rf", str(self._root)], check=False)


@pytest.fixture(scope="module")
def bundles(
    built: tuple[str, dict[str, ImageArchive]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bundles]:
    made = Bundles(built[1], tmp_path_factory.mktemp("bundles"))
    try:
        yield made
    finally:
        made.cleanup()


def _wait_for_line(running: Running, pattern: str, *, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    compiled = re.compile(pattern)
    while time.monotonic() < deadline:
        for line in list(running.lines):
            if compiled.search(line):
                return line
        if running.proc.poll() is not None and not any(compiled.search(x) for x in running.lines):
            break
        time.sleep(0.05)  # wait-ok: polling the container's output against a deadline
    raise AssertionError(
        f"no line matching {pattern!r} within {timeout}s: {running.lines[-20:]} {running.errors[-20:]}"
    )


def test_make_images_builds_every_image_from_a_clean_cache(
    built: tuple[str, dict[str, ImageArchive]],
) -> None:
    output, images = built
    assert set(images) == {spec.name for spec in IMAGES}
    for spec in IMAGES:
        image = images[spec.name]
        assert image.ref == f"akri-py/{spec.name}:0.1.0"
        line = next(x for x in output.splitlines() if x.startswith(f"{spec.name} "))
        assert re.search(r"\d+\.\d MiB\s+\d+\.\d s", line), line
        assert image.compressed_size <= spec.size_target_mib * MiB, (
            spec.name,
            image.compressed_size / MiB,
        )
    cache = Path(os.environ["AKRI_IMAGES_CACHE"])
    summary = json.loads((cache / "last-build.json").read_text())
    if not os.environ.get("AKRI_IMAGES_TEST_CACHE"):
        # Every app layer was built here (the two brokers share theirs).
        assert all(e["app_built"] or e["name"] == "udev-broker" for e in summary["images"])
    records = sorted(cache.glob("app-*/build-record.json"))
    assert {json.loads(r.read_text())["component"] for r in records} == {
        f"app-{spec.extra}" for spec in IMAGES if not spec.native
    }
    natives = sorted(cache.glob("native-*/build-record.json"))
    assert len(natives) == len([spec for spec in IMAGES if spec.native])


def test_skopeo_reads_every_archive(built: tuple[str, dict[str, ImageArchive]]) -> None:
    _, images = built
    rev = revision()
    for spec in IMAGES:
        image = images[spec.name]
        inspected = json.loads(
            subprocess.run(
                ["skopeo", "inspect", f"oci-archive:{image.path}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert inspected["Digest"] == image.manifest_digest
        labels = inspected["Labels"]
        assert labels["org.opencontainers.image.source"] == SOURCE_URL
        assert labels["org.opencontainers.image.version"] == "0.1.0"
        assert labels["org.opencontainers.image.revision"] == rev
        assert labels["org.opencontainers.image.licenses"] == LICENSES
        config = json.loads(
            subprocess.run(
                ["skopeo", "inspect", "--config", f"oci-archive:{image.path}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )["config"]
        assert config["Entrypoint"] == list(spec.entrypoint)
        assert config["User"] == spec.user
        assert config["StopSignal"] == "SIGTERM"
        if not spec.native:
            assert config["Entrypoint"][:2] == ["python3", "-m"]
            assert f"PYTHONPATH={SITE_DIR}" in config["Env"]
            assert "GRPC_VERBOSITY=ERROR" in config["Env"]  # no plain-text gRPC INFO lines


def _layer_bytecode(layer: tarfile.TarFile) -> tuple[set[str], dict[str, int]]:
    """The .py files of a layer, and each compiled module's pyc flags (by its .py name)."""
    sources: set[str] = set()
    compiled: dict[str, int] = {}
    for member in layer:
        if member.name.endswith(".py"):
            sources.add(member.name)
        elif member.name.endswith(".pyc") and "/__pycache__/" in member.name:
            reader = layer.extractfile(member)
            assert reader is not None
            (flags,) = struct.unpack("<I", reader.read(8)[4:8])
            folder, file = member.name.rsplit("/__pycache__/", 1)
            compiled[f"{folder}/{file.split('.', 1)[0]}.py"] = flags
    return sources, compiled


def test_layers_carry_unchecked_bytecode(built: tuple[str, dict[str, ImageArchive]]) -> None:
    """A container never compiles at start: every module of the app layer has a pyc beside it,
    and every pyc (app and standard library) is hash-based and unchecked (flags == 1)."""
    _, images = built
    with tarfile.open(images["agent"].path) as archive:
        index = json.load(archive.extractfile("index.json"))  # type: ignore[arg-type]
        digest = index["manifests"][0]["digest"].removeprefix("sha256:")
        manifest = json.load(archive.extractfile(f"blobs/sha256/{digest}"))  # type: ignore[arg-type]
        base_entry, app_entry = manifest["layers"]
        for entry in (base_entry, app_entry):
            blob = archive.extractfile(f"blobs/sha256/{entry['digest'].removeprefix('sha256:')}")
            assert blob is not None
            with tarfile.open(fileobj=blob, mode="r|gz") as layer:
                sources, compiled = _layer_bytecode(layer)
            assert compiled
            assert set(compiled.values()) == {1}
            if entry is app_entry:
                assert sources <= set(compiled), sorted(sources - set(compiled))[:5]
            else:
                stdlib = {s for s in sources if s.startswith("usr/lib/python3.11/asyncio/")}
                assert stdlib
                assert stdlib <= set(compiled)


@pytest.mark.parametrize("name", [spec.name for spec in IMAGES])
def test_entrypoint_help_and_missing_setting_under_runc(bundles: Bundles, name: str) -> None:
    bundle = bundles[name]
    spec = BY_NAME[name]
    user = bundle.config()["process"]["user"]
    assert f"{user['uid']}:{user['gid']}" == spec.user
    helped = bundle.run("--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: "), helped.stdout
    missing = bundle.run()
    assert missing.returncode != 0, missing.stdout + missing.stderr
    last = missing.stderr.strip().splitlines()[-1]
    assert MISSING[name] in last, missing.stderr
    assert "Traceback" not in missing.stderr


def test_debug_echo_broker_serves_its_environment_and_stops_on_sigterm(
    bundles: Bundles,
) -> None:
    bundle = bundles["debug-echo-broker"]
    running = bundle.start(
        env={
            "DEBUG_ECHO_DESCRIPTION": "foo0",
            "DEBUG_ECHO_DESCRIPTION_8120FE": "foo0",
            "SECRET_TOKEN": "never-served",
            "BROKER_PORT": "0",
        },
        host_network=True,
    )
    try:
        line = _wait_for_line(running, r'"event": "broker_serving"', timeout=20)
        port = json.loads(line)["port"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            served = json.load(response)
        assert served == {"DEBUG_ECHO_DESCRIPTION": "foo0", "DEBUG_ECHO_DESCRIPTION_8120FE": "foo0"}
        bundle.kill(running, "TERM")
        assert running.proc.wait(timeout=10) == 0, running.lines + running.errors
        running.close()
        # JSON log lines on stdout (the container log), nothing on stderr.
        events = [json.loads(line)["event"] for line in running.lines]
        assert events == ["device_environment", "broker_serving", "broker_stopped"]
        assert running.errors == []
    finally:
        bundle.cleanup()


def test_discovery_handler_stops_on_sigterm_in_its_container(bundles: Bundles) -> None:
    """debugEcho keeps retrying its registration (no agent here) until SIGTERM stops it."""
    bundle = bundles["debug-echo-discovery"]
    running = bundle.start(
        env={
            "DEBUG_ECHO_INSTANCES_SHARED": "false",
            "DISCOVERY_HANDLERS_DIRECTORY": "/var/lib/akri",
        },
        tmpfs=["/var/lib/akri"],
    )
    try:
        _wait_for_line(running, r'"event": "serving"', timeout=20)
        bundle.kill(running, "TERM")
        assert running.proc.wait(timeout=10) == 0, running.lines
        assert any('"event": "stopped"' in line for line in running.lines), running.lines
    finally:
        bundle.cleanup()


def test_udev_broker_reads_the_device_node_it_was_given(bundles: Bundles) -> None:
    bundle = bundles["udev-broker"]
    running = bundle.start(
        env={"UDEV_DEVNODE": "/dev/akri-test0", "UDEV_DEVNODE_E4C669": "/dev/akri-test0"},
        devices=[("/dev/akri-test0", "/dev/zero")],
    )
    try:
        line = _wait_for_line(running, r'"event": "device_probed"', timeout=20)
        probed = json.loads(line)
        assert (probed["devnode"], probed["kind"], probed["major"], probed["minor"]) == (
            "/dev/akri-test0",
            "char",
            1,
            5,
        )
        assert probed["read_bytes"] == 64
        assert probed["sample"] == "00" * 16
        bundle.kill(running, "TERM")
        assert running.proc.wait(timeout=10) == 0, running.lines
    finally:
        bundle.cleanup()


def test_udev_video_broker_names_what_its_node_lacks_and_stops_on_sigterm(
    bundles: Bundles,
) -> None:
    """No camera here: /dev/zero as the pod's /dev/video0 answers VIDIOC_QUERYCAP with ENOTTY."""
    bundle = bundles["udev-video-broker"]
    running = bundle.start(
        env={"UDEV_DEVNODE_E4C669": "/dev/video0"}, devices=[("/dev/video0", "/dev/zero")]
    )
    try:
        failed = json.loads(_wait_for_line(running, r'"event": "device_failed"', timeout=20))
        assert (failed["devnode"], failed["errno"]) == ("/dev/video0", "ENOTTY")
        serving = json.loads(_wait_for_line(running, r'"event": "broker_serving"', timeout=20))
        assert serving["address"] == "0.0.0.0:8083"
        bundle.kill(running, "TERM")
        assert running.proc.wait(timeout=10) == 0, running.lines
    finally:
        bundle.cleanup()


def test_a_rebuild_in_another_cache_gives_the_same_manifest_digest(
    built: tuple[str, dict[str, ImageArchive]], tmp_path: Path
) -> None:
    """Reproducible end to end: pip's output, bytecode, layers, config and manifest."""
    _, images = built
    env = {
        **os.environ,
        "AKRI_IMAGES_CACHE": str(tmp_path / "again"),
        "AKRI_IMAGES_BASE_CACHE": str(_shared_base_cache()),
    }
    done = subprocess.run(
        [sys.executable, "-m", "akri_images", "locate"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "not built" in done.stderr
    subprocess.run(
        [sys.executable, "-m", "akri_images", "build", "debug-echo-discovery"],
        env=env,
        capture_output=True,
        check=True,
        timeout=300,
    )
    meta = json.loads((tmp_path / "again/archives/debug-echo-discovery-0.1.0.json").read_text())
    assert meta["manifest_digest"] == images["debug-echo-discovery"].manifest_digest


def test_controller_image_runs_against_the_api_server_as_non_root_and_stops_on_sigterm(
    bundles: Bundles, testbed: Cluster, tmp_path: Path
) -> None:
    """The controller image, as the akri user, lists and watches the real API server (host
    network, the testbed's kubeconfig mounted read-only) until SIGTERM; then it exits 0."""
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copyfile(testbed.kubeconfig, kubeconfig)
    kubeconfig.chmod(0o644)  # readable by 65532 inside; the folder stays the test's own
    bundle = bundles["controller"]
    running = bundle.start(
        env={"KUBECONFIG": "/etc/akri/kubeconfig", "METRICS_PORT": "0", "PYTHONFAULTHANDLER": "1"},
        host_network=True,
        files=[("/etc/akri/kubeconfig", kubeconfig)],
        # kubernetes_asyncio writes a kubeconfig's inline CA to a temporary file.
        tmpfs=["/tmp"],
    )
    try:
        _wait_for_line(running, r'"event": "controller_started"', timeout=60)
        bundle.kill(running, "TERM")
        try:
            code = running.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            bundle.kill(running, "ABRT")  # PYTHONFAULTHANDLER: every thread's stack on stderr
            running.proc.wait(timeout=10)
            running.close()
            code = None
        assert code == 0, "\n".join(running.lines + running.errors)
        running.close()
        assert any('"event": "controller_stopping"' in line for line in running.lines)
        assert all(line.startswith("{") for line in running.lines), running.lines
    finally:
        bundle.cleanup()
