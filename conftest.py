"""pytest plugins for every test directory: shared fixtures and the testbed session fixture."""

import os

# The processes the tests start run as the images run them (images/akri_images/build.py): gRPC
# core's plain-text INFO lines stay off their JSON logs. Set before anything imports grpc.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

pytest_plugins = ["tests.support.fixtures", "akri_testbed.pytest_plugin"]

# Our images for the container-node tests (they override the testbed plugin's
# `container_testbed_images`, so the container testbed's registry holds them).
from tests.support.images import built_images, container_testbed_images, images  # noqa: E402

__all__ = ["built_images", "container_testbed_images", "images"]
