"""The Prometheus text exposition without prometheus_client (``akri_common.prometheus``).

prometheus_client's parser, an independent reader of the format, reads every rendering here; and
the same updates made through prometheus_client render the same text (but its ``_created``
samples), so that a scrape looks as it did before the services dropped that library.
"""

from __future__ import annotations

import math
import os
import threading
import time

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from akri_common.exposition import CONTENT_TYPE, Family, Sample, gauge, number, render
from akri_common.process_metrics import ProcessCollector
from akri_common.prometheus import MAX_SERIES, REGISTRY, Registry, exposition


def parse(body: bytes) -> dict[str, prometheus_client.Metric]:
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def test_counters_render_what_prometheus_reads() -> None:
    registry = Registry()
    family = registry.counter("akri_things_seen", 'Things seen, by "kind"\nper line', ("kind",))
    family.labels(kind="camera").inc()
    family.labels(kind="camera").inc(2)
    family.labels(kind='a "quoted"\\odd\nvalue').inc()
    registry.counter("akri_other", "Other things", ("a", "b")).labels(a="1", b="2").inc()
    parsed = parse(registry.render())
    assert set(parsed) == {"akri_things_seen", "akri_other"}
    seen = parsed["akri_things_seen"]
    assert seen.type == "counter"
    assert seen.documentation == 'Things seen, by "kind"\nper line'
    values = {s.labels["kind"]: s.value for s in seen.samples}
    assert values == {"camera": 3.0, 'a "quoted"\\odd\nvalue': 1.0}
    assert [(s.name, s.labels, s.value) for s in parsed["akri_other"].samples] == [
        ("akri_other_total", {"a": "1", "b": "2"}, 1.0)
    ]
    assert family.labels(kind="camera").value == 3.0
    assert (
        b'akri_things_seen_total{kind="a \\"quoted\\"\\\\odd\\nvalue"} 1.0\n' in registry.render()
    )


def test_families_refuse_misuse_and_stay_bounded() -> None:
    registry = Registry()
    family = registry.counter("akri_x", "x", ("reason",))
    with pytest.raises(ValueError, match="only goes up"):
        family.labels(reason="r").inc(-1)
    with pytest.raises(ValueError, match="labels"):
        family.labels(other="r")
    with pytest.raises(ValueError, match="labels"):
        family.inc()
    with pytest.raises(ValueError, match="registered already"):
        registry.gauge("akri_x", "again", ("reason",))
    with pytest.raises(ValueError, match="metric name"):
        registry.counter("akri-dash", "x")
    with pytest.raises(ValueError, match="label name"):
        registry.counter("akri_y", "y", ("__reserved",))
    with pytest.raises(ValueError, match="'le'"):
        registry.histogram("akri_z", "z", ("le",))
    for i in range(MAX_SERIES + 10):
        family.labels(reason=f"r{i}").inc()
    assert registry.render().decode().count("akri_x_total{") == MAX_SERIES
    family.labels(reason="r0").inc()
    assert family.labels(reason="r0").value == 2.0
    family.labels(reason=f"r{MAX_SERIES + 5}").inc()  # beyond the bound: dropped, no error
    assert f'reason="r{MAX_SERIES + 5}"' not in registry.render().decode()


def test_gauges_set_inc_and_dec() -> None:
    registry = Registry()
    labelled = registry.gauge("akri_instance_count", "Instances", ("configuration", "is_shared"))
    labelled.labels(configuration="c", is_shared="true").set(3)
    labelled.labels(configuration="c", is_shared="true").inc()
    labelled.labels(configuration="c", is_shared="false").dec(2.5)
    plain = registry.gauge("akri_plain", "No labels")
    plain.inc(5)
    plain.dec()
    text = registry.render().decode()
    assert 'akri_instance_count{configuration="c",is_shared="true"} 4.0\n' in text
    assert 'akri_instance_count{configuration="c",is_shared="false"} -2.5\n' in text
    assert "akri_plain 4.0\n" in text
    parsed = parse(registry.render())
    assert parsed["akri_instance_count"].type == "gauge"
    assert parsed["akri_plain"].samples[0].value == 4.0
    plain.set(0.1)
    assert "akri_plain 0.1\n" in registry.render().decode()


def test_histogram_buckets_are_cumulative_with_inf_sum_and_count() -> None:
    registry = Registry()
    histogram = registry.histogram(
        "akri_discovery_response_time",
        "Seconds to the first list",
        ("configuration",),
        buckets=(0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 60),
    )
    for seconds in (0.1, 0.25, 0.7, 2.5, 100.0):
        histogram.labels(configuration="cam").observe(seconds)
    family = parse(registry.render())["akri_discovery_response_time"]
    assert family.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    assert buckets == {
        "0.25": 2.0,
        "0.5": 2.0,
        "1.0": 3.0,
        "1.5": 3.0,
        "2.0": 3.0,
        "3.0": 4.0,
        "5.0": 4.0,
        "10.0": 4.0,
        "60.0": 4.0,
        "+Inf": 5.0,
    }
    totals = {s.name: s.value for s in family.samples if not s.name.endswith("_bucket")}
    assert totals == {
        "akri_discovery_response_time_count": 5.0,
        "akri_discovery_response_time_sum": pytest.approx(103.55),
    }
    text = registry.render().decode()
    assert 'akri_discovery_response_time_bucket{configuration="cam",le="+Inf"} 5.0\n' in text


def test_unlabelled_histogram_has_default_buckets_from_the_start() -> None:
    registry = Registry()
    histogram = registry.histogram("akri_webhook_review_seconds", "Time to validate")
    family = parse(registry.render())["akri_webhook_review_seconds"]
    bounds = [s.labels["le"] for s in family.samples if s.name.endswith("_bucket")]
    expected = "0.005 0.01 0.025 0.05 0.075 0.1 0.25 0.5 0.75 1.0 2.5 5.0 7.5 10.0 +Inf"
    assert bounds == expected.split()
    histogram.observe(0.003)
    histogram.observe(math.nan)  # in no bucket, as prometheus_client does
    text = registry.render().decode()
    assert 'akri_webhook_review_seconds_bucket{le="0.005"} 1.0\n' in text
    assert "akri_webhook_review_seconds_count 1.0\n" in text


def test_same_text_as_prometheus_client() -> None:
    ours = Registry()
    theirs = prometheus_client.CollectorRegistry()
    reviews = ours.counter(
        "akri_webhook_reviews", "Reviews, by operation", ("operation", "allowed")
    )
    their_reviews = prometheus_client.Counter(
        "akri_webhook_reviews", "Reviews, by operation", ["operation", "allowed"], registry=theirs
    )
    refused = ours.counter("akri_webhook_connections_refused", "Refused")
    their_refused = prometheus_client.Counter(
        "akri_webhook_connections_refused", "Refused", registry=theirs
    )
    seconds = ours.histogram("akri_webhook_review_seconds", "Time to validate one")
    their_seconds = prometheus_client.Histogram(
        "akri_webhook_review_seconds", "Time to validate one", registry=theirs
    )
    count = ours.gauge("akri_instance_count", "Instances", ("configuration", "is_shared"))
    their_count = prometheus_client.Gauge(
        "akri_instance_count", "Instances", ["configuration", "is_shared"], registry=theirs
    )
    for operation, allowed in (("CREATE", "true"), ("UPDATE", "false"), ("CREATE", "true")):
        reviews.labels(operation=operation, allowed=allowed).inc()
        their_reviews.labels(operation=operation, allowed=allowed).inc()
    refused.inc(3)
    their_refused.inc(3)
    for value in (0.001, 0.02, 0.3, 4.0, 12.0, 1234567.5):
        seconds.observe(value)
        their_seconds.observe(value)
    count.labels(configuration='odd "x"\n', is_shared="true").set(1e-7)
    their_count.labels(configuration='odd "x"\n', is_shared="true").set(1e-7)
    count.labels(configuration="big", is_shared="false").set(123456789.0)
    their_count.labels(configuration="big", is_shared="false").set(123456789.0)

    def without_created(text: str) -> list[str]:
        blocks = text.split("# HELP ")
        return sorted(b for b in blocks if b and "_created " not in b.split("\n", 1)[0])

    assert without_created(ours.render().decode()) == without_created(
        prometheus_client.generate_latest(theirs).decode()
    )


def test_collectors_are_called_at_each_scrape_until_unregistered() -> None:
    registry = Registry()
    pods: dict[tuple[str, ...], float] = {("cam", "n1"): 1.0}

    def collect() -> list[Family]:
        return [gauge("akri_broker_pod_count", "Broker pods", ("configuration", "node"), pods)]

    registry.register(collect)
    assert 'akri_broker_pod_count{configuration="cam",node="n1"} 1.0' in registry.render().decode()
    pods[("cam", "n2")] = 2.0
    parsed = parse(registry.render())["akri_broker_pod_count"]
    assert {(s.labels["node"], s.value) for s in parsed.samples} == {("n1", 1.0), ("n2", 2.0)}
    registry.unregister(collect)
    assert registry.render() == b""


def test_process_metrics_are_present_and_positive() -> None:
    families = parse(REGISTRY.render())
    names = {
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
        "process_max_fds",
    }
    assert names <= set(families)
    assert families["process_cpu_seconds"].type == "counter"
    assert families["process_cpu_seconds"].samples[0].name == "process_cpu_seconds_total"
    for name in names:
        (sample,) = families[name].samples
        assert sample.value > 0, name
    resident = families["process_resident_memory_bytes"].samples[0].value
    assert resident < families["process_virtual_memory_bytes"].samples[0].value
    start = families["process_start_time_seconds"].samples[0].value
    assert time.time() - 24 * 3600 < start <= time.time() + 1  # this test run started it
    assert (
        families["process_open_fds"].samples[0].value
        <= families["process_max_fds"].samples[0].value
    )
    content_type, body = exposition()()
    assert content_type == CONTENT_TYPE
    assert b"# TYPE process_cpu_seconds_total counter\n" in body


def test_process_metrics_are_left_out_where_proc_cannot_be_read(tmp_path: os.PathLike[str]) -> None:
    assert ProcessCollector(proc=os.fspath(tmp_path)).collect() == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0.0"),
        (1, "1.0"),
        (-2.5, "-2.5"),
        (0.1, "0.1"),
        (1e-7, "1e-07"),
        (123456.0, "123456.0"),
        (1234567.0, "1.234567e+06"),
        (1.7962813191e9, "1.7962813191e+09"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_numbers_are_written_as_prometheus_floats(value: float, text: str) -> None:
    assert number(value) == text
    assert prometheus_client.utils.floatToGoString(value) == text  # type: ignore[no-untyped-call]


def test_render_sorts_label_pairs_and_escapes_help() -> None:
    family = Family(
        "akri_a",
        "gauge",
        "back\\slash\nnew line",
        (Sample("akri_a", (("z", "1"), ("a", "2")), 1.0),),
    )
    assert render([family]) == (
        b'# HELP akri_a back\\\\slash\\nnew line\n# TYPE akri_a gauge\nakri_a{a="2",z="1"} 1.0\n'
    )


def test_updates_from_threads_are_all_counted() -> None:
    registry = Registry()
    counter = registry.counter("akri_threads", "x", ("t",))
    histogram = registry.histogram("akri_threads_seconds", "x", buckets=(1,))

    def work() -> None:
        for _ in range(5000):
            counter.labels(t="a").inc()
            histogram.observe(0.5)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = registry.render().decode()
    assert 'akri_threads_total{t="a"} 40000.0\n' in text
    assert "akri_threads_seconds_count 40000.0\n" in text
    assert "akri_threads_seconds_sum 20000.0\n" in text
