"""The live-check helpers (tests/e2e/prom.py) against a real Prometheus scraping the real
consumer metric definitions (consumer.observe.metrics), without Kafka or PostgreSQL: every dashboard
query has data and every rule evaluates, once the metrics have moved as an ingest moves them.
The full path through a real consumer is tests/e2e/test_dashboards_live.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, start_http_server

from consumer.observe.metrics import Metrics
from consumer.store.params import BatchOutcome
from tests.e2e import prom


@pytest.fixture
def metrics() -> Iterator[tuple[Metrics, str]]:
    registry = CollectorRegistry()
    served = Metrics(registry)
    port = prom.free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield served, f"http://127.0.0.1:{port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fake_ingest(m: Metrics, unknown_share: float) -> None:
    """What the consumer records for one committed file of 1,000 rows."""
    m.ready.set(1)
    for partition in range(3):
        m.consumer_lag.labels("vinops.copart.lots", str(partition)).set(0)
        m.group_lag.labels("vinops.copart.lots", str(partition)).set(0)
        m.partition_assigned.labels("vinops.copart.lots", str(partition)).set(1)
    m.record_outcome(
        BatchOutcome(
            rows={"inserted": 900, "updated": 50, "stale": 20},
            parse_errors={"csv_field_count": 2},
            conflicts={"masked": 30, "transliterated": 1},
            runs={"started": 1, "completed": 1},
            fields_total=49_000,
            fields_unknown=round(49_000 * unknown_share),
        )
    )
    m.dead_letters.labels("csv_field_count").inc(2)
    for seconds in (0.2, 0.4, 1.5):
        m.batch_duration.observe(seconds)
        m.batch_rows.observe(333)
    m.commits.inc(3)
    m.last_commit.set(time.time())
    m.event_lag.set(0.8)
    m.etl_runs_stuck.set(0)
    # What the storage timer records (consumer/service/upkeep.py).
    for schema, n in (("public", 4_000_000), ("raw", 9_000_000), ("staging", 300_000)):
        m.database_bytes.labels(schema).set(n)
    m.growth_alert_bytes_per_day.set(10 * 1024**3)


def test_every_dashboard_query_has_data_and_unknown_rate_alert_holds(
    metrics: tuple[Metrics, str], tmp_path: Path
) -> None:
    m, url = metrics
    rules = prom.rule_files()
    alerts = prom.alert_rules(rules)
    with prom.PrometheusServer(tmp_path, url, rules) as server:
        report = prom.live_check(
            server,
            lambda: fake_ingest(m, unknown_share=0.30),
            prom.load_dashboards(),
            alerts,
            must_fire=["VinopsUnknownRateHigh"],
            # No PostgreSQL here: tests/e2e/test_dashboards_live.py proves that row.
            without_jobs=[prom.PG_JOB],
        )
        ratio = server.query("vinops:unknown_field_ratio:rate5m")
    assert report.empty_targets == []
    assert report.rule_problems == {}
    assert report.firing_exprs["VinopsUnknownRateHigh"] == 1
    assert float(ratio[0]["value"][1]) == pytest.approx(0.30)
    quiet = {"VinopsConsumerDown", "VinopsConsumerNotReady", "VinopsLagGrowingNoCommits"}
    quiet |= {"VinopsEtlRunFailed", "VinopsEtlRunStuck", "VinopsDeadLettersHigh"}
    assert {name: report.firing_exprs[name] for name in quiet} == dict.fromkeys(quiet, 0)
    assert {a.name for a in alerts} == set(report.firing_exprs)
