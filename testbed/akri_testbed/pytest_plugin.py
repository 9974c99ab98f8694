"""pytest fixtures for the testbed: one real control plane and its nodes per test session.

Enable with ``pytest_plugins = ["akri_testbed.pytest_plugin"]`` (``testbed/`` on ``sys.path``) or
``-p akri_testbed.pytest_plugin``. The session fixture ``testbed`` starts the cluster on first
use and stops every process it started when the session ends, also after failures; the
processes are killed (SIGKILL) if the pytest process itself dies. Options:

``--testbed-nodes N``  number of nodes (default 2)
``--testbed-build``    run ``testbed/build.sh`` first (otherwise missing binaries fail the fixture)

The session fixture ``container_testbed`` starts a 2-node container testbed (real kubelets,
containerd, runc, kube-proxy) in ``/tmp/akri-ctb``: a fixed directory, so that a session that was
killed leaves nothing the next one does not purge. It pushes the images that the fixture
``container_testbed_images`` returns (reference → OCI archive; none by default: a project
overrides it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from akri_testbed.cluster import Cluster, start_cluster, stop_cluster

CONTAINER_TESTBED_DIR = Path("/tmp/akri-ctb")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("akri-testbed")
    group.addoption("--testbed-nodes", type=int, default=2, help="nodes in the testbed (default 2)")
    group.addoption("--testbed-build", action="store_true", help="build the testbed binaries first")


@pytest.fixture(scope="session")
def testbed(
    request: pytest.FixtureRequest,
) -> Iterator[Cluster]:
    """A running testbed: ``.kubeconfig``, ``.server``, ``.token``, ``.ca_cert``, ``.nodes`` (each
    with ``name``, ``root_dir``, ``device_plugin_dir``, ``pod_resources_socket``,
    ``run_options_dir``, ``log``) and ``.logs`` (component name to log file)."""
    # A short path: kubelet (Go) cannot dial Unix sockets whose path exceeds 107 bytes, and device
    # plugin sockets live under the node directories (<plugin>-<unix seconds>.sock).
    directory = Path(tempfile.mkdtemp(prefix="akri-tb-", dir="/tmp"))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")

    def report(line: str) -> None:
        if reporter is not None:
            reporter.write_line(f"akri-testbed: {line}")

    cluster = start_cluster(
        directory,
        nodes=int(request.config.getoption("--testbed-nodes")),
        build=bool(request.config.getoption("--testbed-build")),
        report=report,
        die_with_parent=True,
    )
    try:
        yield cluster
    finally:
        stop_cluster(cluster.directory)
        if request.session.testsfailed == 0:
            shutil.rmtree(directory, ignore_errors=True)  # kept, with its logs, after a failure


@pytest.fixture(scope="session")
def container_testbed_images() -> dict[str, Path]:
    """The images to push to the container testbed's registry (reference → OCI archive)."""
    return {}


@pytest.fixture(scope="session")
def container_testbed(
    request: pytest.FixtureRequest, container_testbed_images: dict[str, Path]
) -> Iterator[Cluster]:
    """A running 2-node container testbed (see the module docstring); ``.registry`` is its registry
    on loopback and ``.images`` the pushed references with their digests."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")

    def report(line: str) -> None:
        if reporter is not None:
            reporter.write_line(f"akri-container-testbed: {line}")

    cluster = start_cluster(
        CONTAINER_TESTBED_DIR,
        nodes=2,
        build=bool(request.config.getoption("--testbed-build")),
        report=report,
        die_with_parent=True,
        containers=True,
        images=container_testbed_images,
    )
    try:
        yield cluster
    finally:
        stop_cluster(cluster.directory)
