"""Every dashboard query and alert expression against a real Prometheus scraping a real
consumer that ingested a fixture file (the consumer comes from `observed_consumer`) and the
real PostgreSQL exporter on its database."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e import prom
from tests.e2e.harness import Harness
from tests.e2e.pg_exporter import running_exporter
from tests.e2e.prom import ObservedConsumer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_every_dashboard_query_and_alert_has_data(
    observed_consumer: ObservedConsumer, harness: Harness, pg_superuser_dsn: str, tmp_path: Path
) -> None:
    rules = prom.rule_files()
    dashboards = prom.load_dashboards()
    alerts = prom.alert_rules(rules)
    database = urlsplit(harness.admin_dsn).path.lstrip("/")
    with (
        running_exporter(pg_superuser_dsn, database, tmp_path) as exporter_url,
        prom.PrometheusServer(
            tmp_path, observed_consumer.metrics_url, rules, exporter_url=exporter_url
        ) as server,
    ):
        report = prom.live_check(
            server,
            observed_consumer.ingest,
            dashboards,
            alerts,
            must_fire=["VinopsUnknownRateHigh"],
        )
    assert report.empty_targets == []
    assert report.rule_problems == {}
    assert report.firing_exprs["VinopsUnknownRateHigh"] >= 1
    # A healthy consumer that just committed: none of the outage alerts hold.
    quiet = ("VinopsConsumerDown", "VinopsConsumerNotReady", "VinopsLagGrowingNoCommits")
    for name in (*quiet, "VinopsTransactionOpenTooLong", "VinopsTableBloat"):
        assert report.firing_exprs[name] == 0, name
