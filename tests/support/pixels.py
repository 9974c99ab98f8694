"""Comparing screenshots: how much of a region changed between two PNGs (Pillow)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageChops

THRESHOLD = 24  # a channel difference below it is compression noise, not change


def region(png: bytes, box: Mapping[str, Any]) -> Image.Image:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    left, top = int(box["x"]), int(box["y"])
    return image.crop((left, top, left + int(box["width"]), top + int(box["height"])))


def changed_fraction(before: bytes, after: bytes, box: Mapping[str, Any]) -> float:
    """The fraction of the pixels in ``box`` whose colour changed visibly."""
    a, b = region(before, box), region(after, box)
    difference = ImageChops.difference(a, b).convert("L")
    changed = sum(difference.histogram()[THRESHOLD:])
    return changed / max(1, a.width * a.height)


def distinct_colours(png: bytes, box: Mapping[str, Any]) -> int:
    """How many distinct colours the region holds (a blank tile has one or two)."""
    colours = region(png, box).getcolors(maxcolors=1 << 16)
    return len(colours) if colours is not None else 1 << 16
