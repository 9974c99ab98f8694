"""The one YAML reader for text a user wrote: Configurations, ``discoveryDetails``, CLI files.

YAML can describe far more than it spells: nine anchors each aliased nine times ("billion
laughs") are about a kilobyte of text and a billion nodes once expanded, and a document nested a
few thousand levels deep overflows the recursive constructor. So the text is first read as a
stream of parser events (the parser keeps explicit stacks: it does not recurse), counting every
node as it would be after alias expansion and the nesting depth (an alias counts at the depth of
the anchor's subtree); a document past ``Limits``, or with an alias inside the node it refers to
(a structure that contains itself), is refused there, before any Python object is built. Only then is it constructed, with integers of more than ``max_integer_digits`` digits
refused too (Python refuses to convert those past 4,300 digits with a ``ValueError``, not a YAML
error). Every failure is one ``UnsafeYamlError`` (a ``ValueError``) with a one-line reason.

:func:`shown` (from :mod:`akri_common.shown`) is the matching rule for messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from akri_common.shown import MAX_SHOWN, shown

__all__ = ["DEFAULT_LIMITS", "MAX_SHOWN", "Limits", "UnsafeYamlError", "load", "load_all", "shown"]


@dataclass(frozen=True)
class Limits:
    """What one user document may hold. The defaults fit any real Configuration (the API server
    stores at most 1.5 MiB per object) and refuse anything built to be expanded."""

    max_characters: int = 3 * 1024 * 1024
    max_nodes: int = 1_000_000
    max_depth: int = 64
    max_integer_digits: int = 64


DEFAULT_LIMITS = Limits()


class UnsafeYamlError(ValueError):
    """The text is not YAML, or is YAML past the limits; retrying cannot help. ``line`` (1-based)
    is where the parser stopped, when it knows."""

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(reason)


def load(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The single document of ``text`` (None when it is empty), or ``UnsafeYamlError``."""
    documents = load_all(text, limits=limits)
    if len(documents) > 1:
        raise UnsafeYamlError(f"expected one YAML document, found {len(documents)}")
    return documents[0] if documents else None


def load_all(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> list[Any]:
    """Every document of ``text`` (a list, possibly empty), or ``UnsafeYamlError``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise UnsafeYamlError(f"not UTF-8 text (byte {err.start})") from None
    if len(text) > limits.max_characters:
        raise UnsafeYamlError(
            f"the text has {len(text)} characters, more than the limit of {limits.max_characters}"
        )
    try:
        check_events(yaml.parse(text, Loader=_EventLoader), limits)
        loader = _Loader(text, limits)
        try:
            documents: list[Any] = []
            while loader.check_data():
                documents.append(loader.get_data())
            return documents
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        raise UnsafeYamlError(_one_line(str(err)), line=line) from None
    except (RecursionError, MemoryError) as err:  # only past limits we did not foresee
        raise UnsafeYamlError(
            f"the document is too large or too deep ({type(err).__name__})"
        ) from None


def check_events(events: Iterator[yaml.Event], limits: Limits = DEFAULT_LIMITS) -> None:
    """Raises ``UnsafeYamlError`` as soon as the expanded node count or depth passes ``limits``.

    Each anchored node remembers its expanded size and height; an alias adds them where it
    stands, so the count is what construction would build, reached in time linear in the text.
    """
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (expanded nodes, collection height)
    # One frame per open collection: [anchor, nodes so far, tallest child height].
    stack: list[list[Any]] = []
    total = 0
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            sizes.clear()
        if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
            leaf = _leaf(event, sizes, stack)
            if leaf is None:
                continue
            nodes, height = leaf
            total += nodes
            _grow(stack, nodes, height, len(stack), limits)
        elif isinstance(event, yaml.CollectionStartEvent):
            total += 1
            stack.append([event.anchor, 1, 0])
            if len(stack) > limits.max_depth:
                raise UnsafeYamlError(f"nested deeper than the limit of {limits.max_depth} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, nodes, tallest = stack.pop()
            height = tallest + 1
            if anchor is not None:
                sizes[anchor] = (nodes, height)
            _grow(stack, nodes, height, len(stack), limits)
        if total > limits.max_nodes:
            raise UnsafeYamlError(
                f"expands to more than {limits.max_nodes} nodes (aliases included)"
            )


def _leaf(
    event: yaml.Event, sizes: dict[str, tuple[int, int]], stack: list[list[Any]]
) -> tuple[int, int] | None:
    """A scalar's or an alias's expanded (nodes, collection height); None for an undefined
    alias, which the composer reports."""
    anchor = getattr(event, "anchor", None)
    if not isinstance(event, yaml.AliasEvent):
        if anchor is not None:
            sizes[anchor] = (1, 0)
        return 1, 0
    if any(frame[0] == anchor for frame in stack):
        raise UnsafeYamlError(f"alias *{anchor} refers to a node that holds it")
    return sizes.get(anchor) if anchor is not None else None


def _grow(stack: list[list[Any]], nodes: int, height: int, depth: int, limits: Limits) -> None:
    if depth + height > limits.max_depth:
        raise UnsafeYamlError(
            f"nested deeper than the limit of {limits.max_depth} levels (aliases included)"
        )
    if stack:
        frame = stack[-1]
        frame[1] += nodes
        frame[2] = max(frame[2], height)


_BaseLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_EventLoader: type[Any] = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """Safe construction with an integer-length limit (the event check ran first)."""

    def __init__(self, stream: str, limits: Limits) -> None:
        super().__init__(stream)
        self.limits = limits

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(ch.isalnum() for ch in str(node.value))
        if digits > self.limits.max_integer_digits:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"an integer of {digits} digits is longer than the limit of"
                f" {self.limits.max_integer_digits}",
                node.start_mark,
            )
        value: int = super().construct_yaml_int(node)
        return value


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
