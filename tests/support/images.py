"""Our images for container-node tests: built (or found in the cache) once per session, pushed to
the container testbed's registry by overriding the testbed plugin's ``container_testbed_images``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from akri_images import ImageArchive, ImagesNotBuiltError, locate


@dataclass(frozen=True)
class ImageRefs:
    """The references a pod spec names, by role."""

    by_name: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.by_name[name]

    @property
    def agent(self) -> str:
        return self.by_name["agent"]

    @property
    def debug_echo_broker(self) -> str:
        return self.by_name["debug-echo-broker"]

    @property
    def debug_echo_broker_port(self) -> int:
        return 8080


@pytest.fixture(scope="session")
def built_images() -> dict[str, ImageArchive]:
    """Every image, as ``make images`` built it (``make test`` runs it first)."""
    try:
        return locate(build=False)
    except ImagesNotBuiltError as err:
        pytest.fail(f"{err}: run `make images` first", pytrace=False)


@pytest.fixture(scope="session")
def container_testbed_images(built_images: dict[str, ImageArchive]) -> dict[str, Path]:
    return {image.ref: image.path for image in built_images.values()}


@pytest.fixture(scope="session")
def images(built_images: dict[str, ImageArchive]) -> ImageRefs:
    return ImageRefs({name: image.ref for name, image in built_images.items()})
