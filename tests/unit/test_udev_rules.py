"""The udev rule grammar: every key and operator, parsed or rejected as upstream does."""

from __future__ import annotations

import pytest

from akri_udev.query import compile_rule, is_enumerator_filter
from akri_udev.rules import Field, Filter, Operator, RuleSyntaxError, parse_rule, parse_rules

EQ, NE = Operator.EQUAL, Operator.NOT_EQUAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('ATTR{idVendor}=="046d"', Filter(Field.ATTR, EQ, "046d", key="idVendor")),
        ('ATTR{idVendor}!="046d"', Filter(Field.ATTR, NE, "046d", key="idVendor")),
        ('ATTRS{idProduct}=="0825"', Filter(Field.ATTRS, EQ, "0825", key="idProduct")),
        ('ATTRS{idProduct}!="0825"', Filter(Field.ATTRS, NE, "0825", key="idProduct")),
        ('DEVPATH=="/devices/pci0000:00/*"', Filter(Field.DEVPATH, EQ, "/devices/pci0000:00/*")),
        ('DEVPATH!="/devices/virtual/.*"', Filter(Field.DEVPATH, NE, "/devices/virtual/.*")),
        ('DRIVER=="uvcvideo"', Filter(Field.DRIVER, EQ, "uvcvideo")),
        ('DRIVER!="usb"', Filter(Field.DRIVER, NE, "usb")),
        ('DRIVERS=="a driver"', Filter(Field.DRIVERS, EQ, "a driver")),
        ('DRIVERS!="a driver"', Filter(Field.DRIVERS, NE, "a driver")),
        ('KERNEL=="video[0-9]*"', Filter(Field.KERNEL, EQ, "video[0-9]*")),
        ('KERNEL!="video0"', Filter(Field.KERNEL, NE, "video0")),
        ('KERNELS=="1-1"', Filter(Field.KERNELS, EQ, "1-1")),
        ('KERNELS!="1-1"', Filter(Field.KERNELS, NE, "1-1")),
        (
            'ENV{ID_V4L_CAPABILITIES}==":capture:"',
            Filter(Field.ENV, EQ, ":capture:", key="ID_V4L_CAPABILITIES"),
        ),
        ('ENV{ID}!="id_num"', Filter(Field.ENV, NE, "id_num", key="ID")),
        ('SUBSYSTEM=="video4linux"', Filter(Field.SUBSYSTEM, EQ, "video4linux")),
        ('SUBSYSTEM!="usb"', Filter(Field.SUBSYSTEM, NE, "usb")),
        ('SUBSYSTEMS=="pci"', Filter(Field.SUBSYSTEMS, EQ, "pci")),
        ('SUBSYSTEMS!="pci"', Filter(Field.SUBSYSTEMS, NE, "pci")),
        ('TAG=="uaccess"', Filter(Field.TAG, EQ, "uaccess")),
        ('TAG!="tag[3-9]"', Filter(Field.TAG, NE, "tag[3-9]")),
        ('TAGS=="seat"', Filter(Field.TAGS, EQ, "seat")),
        ('TAGS!="seat"', Filter(Field.TAGS, NE, "seat")),
        ('KERNEL==""', Filter(Field.KERNEL, EQ, "")),
        (
            'ATTR{a b$._*?[]-|\\/}=="A z$._*:?[]-|\\/%{}"',
            Filter(Field.ATTR, EQ, "A z$._*:?[]-|\\/%{}", key="a b$._*?[]-|\\/"),
        ),
    ],
)
def test_every_key_and_operator_parses(text: str, expected: Filter) -> None:
    (parsed,) = parse_rule(text).filters
    assert parsed == expected
    assert str(parsed) == text


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("   ", 0),
        ('KERNEL=="video[0-9]*", ENV{ID_V4L_CAPABILITIES}==":capture:"', 2),
        ('KERNEL=="video[0-9]*",SUBSYSTEM=="video4linux", ATTR{idVendor}=="05a9"', 3),
        ('ATTRS{idVendor}=="0bdd" ,  DRIVERS!="a driver"', 2),
        ('  SUBSYSTEMS=="pci"  ', 1),
    ],
)
def test_spaces_around_commas_and_empty_rules(text: str, count: int) -> None:
    assert len(parse_rule(text).filters) == count


def test_filters_keep_their_order_and_columns() -> None:
    rule = parse_rule('KERNEL=="video0", ATTR{idVendor}!="046d"', index=3)
    assert rule.index == 3
    assert [(f.field, f.column, f.value_column) for f in rule.filters] == [
        (Field.KERNEL, 1, 10),
        (Field.ATTR, 19, 36),
    ]


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ('KERNEL == "null"', 7, "no space is allowed between KERNEL and its operator"),
        ('KERNEL== "null"', 9, "expected '\"' right after == (no space allowed), found a space"),
        ('KERNEL="video0"', 7, "operator '=' assigns; discovery rules only match with == or !="),
        ('RUN+="/bin/true"', 1, "field RUN is a udev action key"),
        ('KERNEL+="x"', 7, "operator '+=' assigns"),
        ('KERNEL-="x"', 7, "operator '-=' assigns"),
        ('KERNEL:="x"', 7, "operator ':=' assigns"),
        ('KERNEL=="video[0-9]*", TYPO=="blah"', 24, "unknown field 'TYPO'"),
        ('kernel=="video0"', 1, "unknown field 'kernel'"),
        ('ATTR=="x"', 5, "field ATTR needs a key in braces"),
        ('ENV{}=="x"', 5, "the key of ENV{} is empty"),
        ('ATTRS{idVendor=="x"', 15, "character '=' is not allowed in a key"),
        ("ATTRS{idVendor", 15, "the key of ATTRS{ is not closed"),
        ('KERNEL{x}=="y"', 7, "field KERNEL takes no {key}"),
        ('KERNEL=="a,b"', 11, "character ',' is not allowed in a value"),
        ('KERNEL=="a+b"', 11, "character '+' is not allowed in a value"),
        ('KERNEL=="a=b"', 11, "character '=' is not allowed in a value"),
        ('KERNEL=="video0', 16, "the value is not closed"),
        ('KERNEL=="a" KERNEL=="b"', 13, "expected ',' between filters, found 'K'"),
        ('KERNEL=="a",', 13, "expected a filter after ','"),
        (',KERNEL=="a"', 1, "expected a field such as KERNEL or ATTR{key}, found ','"),
        ("KERNEL", 7, "expected == or != after KERNEL, found 'the end'"),
        ('KERNEL=~"x"', 7, "operator '=' assigns"),
        ('KERNEL!~"x"', 7, "expected == or != after KERNEL, found '!'"),
        ('\tKERNEL=="a"', 1, "expected a field such as KERNEL"),
    ],
)
def test_rejections_name_the_column_and_the_reason(text: str, column: int, reason: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rule(text, index=2)
    assert caught.value.index == 2
    assert caught.value.column == column
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"rule 2, column {column}: ")


@pytest.mark.parametrize(
    "name",
    [
        "ACTION",
        "GOTO",
        "GROUP",
        "LABEL",
        "MODE",
        "OPTIONS",
        "OWNER",
        "WAIT_FOR",
        "NAME",
        "PROGRAM",
        "RESULT",
        "SYMLINK",
        "IMPORT{program}",
        "RUN{builtin}",
        "CONST{arch}",
        "SECLABEL{selinux}",
        "SYSCTL{kernel/x}",
        "TEST{0644}",
    ],
)
def test_udev_action_keys_are_rejected(name: str) -> None:
    with pytest.raises(RuleSyntaxError, match="is a udev action key") as caught:
        parse_rule(f'KERNEL=="sda", {name}=="x"')
    assert caught.value.column == 16


def test_parse_rules_names_the_failing_rule() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rules(['KERNEL=="video0"', 'SUBSYSTEM="usb"'])
    assert (caught.value.index, caught.value.column) == (1, 10)


@pytest.mark.parametrize(
    ("text", "enumerator"),
    [
        ('DEVPATH=="/x"', True),
        ('KERNEL=="x"', True),
        ('TAG=="x"', True),
        ('SUBSYSTEM=="x"', True),
        ('ATTR{k}=="x"', True),
        ('ENV{k}=="x"', True),
        ('ATTR{k}!="x"', True),
        ('SUBSYSTEM!="x"', True),
        ('DEVPATH!="x"', False),
        ('KERNEL!="x"', False),
        ('TAG!="x"', False),
        ('ENV{k}!="x"', False),
        ('DRIVER=="x"', False),
        ('DRIVER!="x"', False),
        ('SUBSYSTEMS=="x"', False),
        ('ATTRS{k}=="x"', False),
        ('DRIVERS=="x"', False),
        ('KERNELS=="x"', False),
        ('TAGS=="x"', False),
    ],
)
def test_which_filters_the_enumerator_applies(text: str, enumerator: bool) -> None:
    (item,) = parse_rule(text).filters
    assert is_enumerator_filter(item) is enumerator
    query = compile_rule(parse_rule(text))
    assert len(query.post) == (0 if enumerator else 1)


def test_an_invalid_regular_expression_is_rejected_at_its_column() -> None:
    rule = parse_rule('KERNEL=="video[0-9]*", DRIVERS!="uvc[video"', index=1)
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule(rule)
    assert caught.value.index == 1
    assert caught.value.column == 37  # the unclosed "["
    assert "not a valid regular expression" in caught.value.reason


def test_glob_values_of_enumerator_filters_need_not_be_regular_expressions() -> None:
    query = compile_rule(parse_rule('KERNEL=="video[", ATTR{x}!="["'))
    assert query.enumerator.sysnames == ("video[",)
    assert query.enumerator.nomatch_attributes == (("x", "["),)
