"""Every dashboard query and alert expression against a real Prometheus scraping a real
consumer that ingested a fixture file (the consumer comes from `observed_consumer`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import prom
from tests.e2e.prom import ObservedConsumer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_every_dashboard_query_and_alert_has_data(
    observed_consumer: ObservedConsumer, tmp_path: Path
) -> None:
    rules = prom.rule_files()
    dashboards = prom.load_dashboards()
    alerts = prom.alert_rules(rules)
    with prom.PrometheusServer(tmp_path, observed_consumer.metrics_url, rules) as server:
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
    for name in ("VinopsConsumerDown", "VinopsConsumerNotReady", "VinopsLagGrowingNoCommits"):
        assert report.firing_exprs[name] == 0, name
