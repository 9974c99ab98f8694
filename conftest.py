"""pytest plugins for every test directory: shared fixtures and the testbed session fixture."""

pytest_plugins = ["tests.support.fixtures", "akri_testbed.pytest_plugin"]

# Our images for the container-node tests (they override the testbed plugin's
# `container_testbed_images`, so the container testbed's registry holds them).
from tests.support.images import built_images, container_testbed_images, images  # noqa: E402

__all__ = ["built_images", "container_testbed_images", "images"]
