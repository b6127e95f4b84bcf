"""The hand-written Prometheus text format reads back with Prometheus's own parser."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from facilitator.server import exposition as ex


def parsed(text: str) -> dict[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    families = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = {
            (s.name, frozenset(s.labels.items())): s.value for s in family.samples
        }
    return families


def test_counters_gauges_and_escaped_labels_parse() -> None:
    family = ex.Family("demo_requests_total", "Requests, by path", "counter")
    family.add(3, (("path", 'a "quoted" \\ back\nslash'),))
    family.add(0.25, (("path", "/"),))
    text = ex.render([family, ex.gauge("demo_up", "Up", 1)])
    families = parsed(text)
    samples = families["demo_requests"]
    assert samples[("demo_requests_total", frozenset({("path", 'a "quoted" \\ back\nslash')}))] == 3
    assert samples[("demo_requests_total", frozenset({("path", "/")}))] == 0.25
    assert families["demo_up"] == {("demo_up", frozenset()): 1}


def test_histogram_buckets_are_cumulative() -> None:
    histogram = ex.Histogram([0.01, 0.1, 1.0])
    for value in (0.005, 0.01, 0.05, 0.5, 3.0):
        histogram.observe(value)
    samples = parsed(ex.render([histogram.family("demo_seconds", "Times")]))["demo_seconds"]
    buckets = {
        dict(labels)["le"]: value
        for (name, labels), value in samples.items()
        if name.endswith("_bucket")
    }
    assert buckets == {"0.01": 2, "0.1": 3, "1": 4, "+Inf": 5}
    assert samples[("demo_seconds_count", frozenset())] == 5
    assert math.isclose(samples[("demo_seconds_sum", frozenset())], 3.565)


def test_merge_keeps_one_header_per_family_and_labels_each_part() -> None:
    def worker_text(n: int) -> str:
        http = ex.Family("demo_http_total", "HTTP", "counter")
        http.add(n, (("class", "2xx"),))
        return ex.render([http, ex.gauge("demo_people", "People", n * 10)])

    text = ex.merge([((("worker", "0"),), worker_text(1)), ((("worker", "1"),), worker_text(2))])
    assert text.count("# TYPE demo_http_total") == 1
    families = parsed(text)
    assert families["demo_http"] == {
        ("demo_http_total", frozenset({("class", "2xx"), ("worker", "0")})): 1,
        ("demo_http_total", frozenset({("class", "2xx"), ("worker", "1")})): 2,
    }
    assert families["demo_people"] == {
        ("demo_people", frozenset({("worker", "0")})): 10,
        ("demo_people", frozenset({("worker", "1")})): 20,
    }
