"""Counters in the Prometheus text format without prometheus_client (the ONVIF handler's)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from akri_common.counters import MAX_SERIES, Counters


def test_counters_render_what_prometheus_reads() -> None:
    counters = Counters()
    family = counters.counter("akri_things_seen", 'Things seen, by "kind"\nper line', ("kind",))
    family.inc(kind="camera")
    family.inc(2, kind="camera")
    family.inc(kind='a "quoted"\\odd\nvalue')
    counters.counter("akri_other", "Other things", ("a", "b")).inc(a="1", b="2")
    # prometheus_client's own parser, an independent reader of the format.
    parsed = {f.name: f for f in text_string_to_metric_families(counters.render().decode())}
    assert set(parsed) == {"akri_things_seen", "akri_other"}
    seen = parsed["akri_things_seen"]
    assert seen.type == "counter"
    assert seen.documentation == 'Things seen, by "kind"\nper line'
    values = {s.labels["kind"]: s.value for s in seen.samples}
    assert values == {"camera": 3.0, 'a "quoted"\\odd\nvalue': 1.0}
    assert [(s.labels, s.value) for s in parsed["akri_other"].samples] == [
        ({"a": "1", "b": "2"}, 1.0)
    ]
    assert family.value(kind="camera") == 3.0


def test_counters_refuse_misuse_and_stay_bounded() -> None:
    counters = Counters()
    family = counters.counter("akri_x", "x", ("reason",))
    with pytest.raises(ValueError, match="only goes up"):
        family.inc(-1, reason="r")
    with pytest.raises(ValueError, match="labels"):
        family.inc(other="r")
    with pytest.raises(ValueError, match="registered already"):
        counters.counter("akri_x", "again", ("reason",))
    for i in range(MAX_SERIES + 10):
        family.inc(reason=f"r{i}")
    assert counters.render().decode().count("akri_x_total{") == MAX_SERIES
    family.inc(reason="r0")
    assert family.value(reason="r0") == 2.0
