"""The shared safe YAML reader: alias explosions, deep nesting, huge integers and bounded messages."""

from __future__ import annotations

import pytest

from akri_common.safe_yaml import Limits, UnsafeYamlError, load, load_all, shown


def billion_laughs(levels: int = 9, fanout: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        aliases = ", ".join(f"*a{level - 1}" for _ in range(fanout))
        lines.append(f"a{level}: &a{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_before_expansion() -> None:
    text = billion_laughs()
    assert len(text) < 1100
    with pytest.raises(UnsafeYamlError, match="expands to more than"):
        load(text)


def test_modest_aliases_are_kept() -> None:
    text = "base: &b {a: 1, b: [1, 2]}\nfirst: *b\nsecond:\n  <<: *b\n  c: 3\n"
    assert load(text) == {
        "base": {"a": 1, "b": [1, 2]},
        "first": {"a": 1, "b": [1, 2]},
        "second": {"a": 1, "b": [1, 2], "c": 3},
    }


@pytest.mark.parametrize(
    "text",
    [
        "[" * 3000 + "]" * 3000,
        "{a: " * 3000 + "1" + "}" * 3000,
        "".join(f"{'  ' * i}k:\n" for i in range(200)) + "  " * 200 + "v\n",
    ],
    ids=["flow-sequences", "flow-mappings", "block-mappings"],
)
def test_deep_nesting_is_refused(text: str) -> None:
    with pytest.raises(UnsafeYamlError, match="nested deeper than the limit of 64"):
        load(text)


def test_depth_through_aliases_counts() -> None:
    inner = "[" * 40 + "]" * 40
    text = f"a: &deep {inner}\nb: " + "[" * 30 + "*deep" + "]" * 30 + "\n"
    with pytest.raises(UnsafeYamlError, match="aliases included"):
        load(text)


def test_depth_within_the_limit_is_fine() -> None:
    assert load("[" * 64 + "]" * 64) is not None


def test_huge_integers_are_refused_with_a_yaml_error() -> None:
    with pytest.raises(UnsafeYamlError, match="an integer of 5000 digits"):
        load("capacity: " + "9" * 5000)
    assert load("capacity: 9223372036854775807") == {"capacity": 9223372036854775807}


def test_text_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(UnsafeYamlError, match="not UTF-8"):
        load(b"a: \xff\xfe")


def test_syntax_errors_are_one_line() -> None:
    with pytest.raises(UnsafeYamlError) as caught:
        load("a: [1, 2\nb: }")
    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) <= 200


def test_size_limit() -> None:
    with pytest.raises(UnsafeYamlError, match="more than the limit of 10"):
        load("a: 12345678901", limits=Limits(max_characters=10))


def test_documents() -> None:
    assert load_all("a: 1\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]
    assert load("") is None
    with pytest.raises(UnsafeYamlError, match="expected one YAML document, found 2"):
        load("a: 1\n---\nb: 2\n")


@pytest.mark.parametrize(
    "value",
    [
        list(range(10**6)),
        {str(i): list(range(1000)) for i in range(1000)},
        10**5000,
        "x" * 10**6,
        [[[[[[[[[["deep"]]]]]]]]]],
    ],
    ids=["long-list", "wide-dict", "huge-int", "long-string", "deep-list"],
)
def test_shown_is_bounded(value: object) -> None:
    assert len(shown(value)) <= 80


def test_a_structure_that_contains_itself_is_refused() -> None:
    with pytest.raises(UnsafeYamlError, match=r"alias \*a refers to a node that holds it"):
        load("a: &a [1, *a]")
    with pytest.raises(UnsafeYamlError, match="holds it"):
        load("spec: &s {capacity: *s}")
