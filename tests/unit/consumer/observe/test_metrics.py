from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from consumer.observe.metrics import OUTCOMES, RUN_STATUSES, Metrics
from consumer.store.params import BatchOutcome

FIXED_NAMES = (
    "vinops_ingested_rows_total", "vinops_parse_errors_total", "vinops_upsert_conflicts_total",
    "vinops_dead_letters_total", "vinops_fields_total", "vinops_fields_unknown_total",
    "vinops_batch_duration_seconds_bucket", "vinops_batch_rows_bucket",
    "vinops_event_lag_seconds", "vinops_last_commit_timestamp_seconds", "vinops_commits_total",
    "vinops_etl_runs_total", "vinops_etl_runs_stuck", "vinops_consumer_ready",
    "vinops_publish_to_commit_seconds_bucket", "vinops_offset_gaps_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
)  # fmt: skip


def _text(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_fixed_names_exist_on_a_fresh_registry() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    text = _text(registry)
    for name in FIXED_NAMES:
        assert f"\n{name}" in text or text.startswith(name), name


def test_label_values_are_pre_initialised_to_zero() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    for outcome in OUTCOMES:
        assert registry.get_sample_value("vinops_ingested_rows_total", {"outcome": outcome}) == 0
    for st in RUN_STATUSES:
        assert registry.get_sample_value("vinops_etl_runs_total", {"status": st}) == 0
    assert registry.get_sample_value("vinops_parse_errors_total", {"reason": "bad_json"}) == 0
    assert registry.get_sample_value("vinops_dead_letters_total", {"reason": "constraint"}) == 0


def test_record_outcome_adds_counts() -> None:
    registry = CollectorRegistry()
    m = Metrics(registry)
    m.record_outcome(
        BatchOutcome(
            rows={"inserted": 3, "stale": 1, "updated": 0},
            parse_errors={"csv_field_count": 2},
            conflicts={"masked": 1},
            runs={"completed": 1},
            fields_total=100,
            fields_unknown=7,
        )
    )
    get = registry.get_sample_value
    assert get("vinops_ingested_rows_total", {"outcome": "inserted"}) == 3
    assert get("vinops_ingested_rows_total", {"outcome": "stale"}) == 1
    assert get("vinops_ingested_rows_total", {"outcome": "updated"}) == 0
    assert get("vinops_parse_errors_total", {"reason": "csv_field_count"}) == 2
    assert get("vinops_upsert_conflicts_total", {"kind": "masked"}) == 1
    assert get("vinops_etl_runs_total", {"status": "completed"}) == 1
    assert get("vinops_fields_total") == 100
    assert get("vinops_fields_unknown_total") == 7


async def test_histogram_timer_inside_a_coroutine() -> None:
    registry = CollectorRegistry()
    m = Metrics(registry)
    with m.batch_duration.time():
        pass
    m.consumer_lag.labels("t", "0").set(5)
    assert registry.get_sample_value("vinops_batch_duration_seconds_count") == 1
    assert (
        registry.get_sample_value("vinops_consumer_lag_messages", {"topic": "t", "partition": "0"})
        == 5
    )


def test_two_instances_on_separate_registries_do_not_clash() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    m1 = Metrics(first)
    Metrics(second)  # would raise "Duplicated timeseries" if it shared the first's registry
    m1.record_outcome(
        BatchOutcome(
            rows={"inserted": 2}, parse_errors={}, conflicts={}, runs={},
            fields_total=0, fields_unknown=0,
        )
    )  # fmt: skip
    key = ("vinops_ingested_rows_total", {"outcome": "inserted"})
    assert (first.get_sample_value(*key), second.get_sample_value(*key)) == (2, 0)
    for registry in (first, second):
        text = _text(registry)
        assert all(f"\n{name}" in text or text.startswith(name) for name in FIXED_NAMES)
