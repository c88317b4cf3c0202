"""BatchHistogram: the series of a prometheus_client Histogram, fed counts per value."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

from consumer.observe.histogram import BatchHistogram

BUCKETS = (0.05, 0.5, 5.0)
VALUES = ((0.05, 3), (0.2, 1), (0.5, 2), (4.0, 5), (7.5, 1), (0.0, 2))


def samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (s.name, s.labels.get("le", "")): s.value
        for metric in registry.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }


def test_counts_per_value_give_the_series_of_one_observation_each() -> None:
    ours, reference = CollectorRegistry(), CollectorRegistry()
    BatchHistogram("x_seconds", "doc", BUCKETS, ours).observe_counts(VALUES)
    one_by_one = Histogram("x_seconds", "doc", buckets=BUCKETS, registry=reference)
    for value, count in VALUES:
        for _ in range(count):
            one_by_one.observe(value)
    assert samples(ours) == samples(reference)
    assert ours.get_sample_value("x_seconds_bucket", {"le": "0.05"}) == 5  # le is inclusive
    assert ours.get_sample_value("x_seconds_count") == 14


def test_a_fresh_histogram_exposes_zeroes() -> None:
    registry = CollectorRegistry()
    BatchHistogram("y_seconds", "doc", BUCKETS, registry).observe(1.0, 0)
    assert registry.get_sample_value("y_seconds_bucket", {"le": "+Inf"}) == 0
    assert registry.get_sample_value("y_seconds_sum") == 0
