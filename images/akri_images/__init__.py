"""Akri-py's container images, built without Docker: a Debian base and one app layer per service.

``locate(build=False)`` answers ``{name: ImageArchive}`` for every image in ``catalog.IMAGES``
(the testbed imports these archives into its container nodes); ``python -m akri_images build``
is ``make images``.
"""

from akri_images.build import ImageArchive, ImagesNotBuiltError, build_images, locate
from akri_images.catalog import IMAGES, ImageSpec

__all__ = ["IMAGES", "ImageArchive", "ImageSpec", "ImagesNotBuiltError", "build_images", "locate"]
