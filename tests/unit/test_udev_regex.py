"""Post-scan udev values on RE2: linear time, upstream's syntax, errors at the right column."""

from __future__ import annotations

import pytest

from akri_udev.query import compile_rule
from akri_udev.regex import RegexError, compile_regex
from akri_udev.rules import RuleSyntaxError, parse_rule


@pytest.mark.timeout(10)
def test_a_backtracking_pattern_runs_in_linear_time() -> None:
    pattern = compile_regex(".*.*.*.*.*.*.*.*Q")
    devpath = "/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/video4linux/video0" * 1000
    assert not pattern.whole_match(devpath)
    assert pattern.whole_match(devpath + "Q")


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("video[0-9]+", "video12", True),
        ("video[0-9]+", "xvideo12", False),
        ("uvc|video", "uvcvideo", False),  # the leftmost match must span the whole string
        ("uvc.*", "uvcvideo", True),
        ("", "", True),
    ],
)
def test_whole_match(pattern: str, text: str, expected: bool) -> None:
    assert compile_regex(pattern).whole_match(text) is expected


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(?=a)a", "invalid perl operator"),  # look-around: refused by Rust's regex too
        ("(a)\\1", "invalid escape sequence"),  # back-reference: likewise
        ("uvc[video", "missing ]"),
    ],
)
def test_what_upstream_refuses_is_refused(pattern: str, reason: str) -> None:
    with pytest.raises(RegexError, match=reason):
        compile_regex(pattern)


def test_a_refused_pattern_names_its_rule_and_column() -> None:
    rule = parse_rule('KERNEL=="video0", KERNELS!="usb[1"', index=3)
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule(rule)
    assert caught.value.index == 3
    assert caught.value.column == 32  # the "[" that is never closed
    assert "missing ]" in caught.value.reason
