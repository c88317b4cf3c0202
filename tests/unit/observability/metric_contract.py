"""Names shared by the observability tests: the metric contract with the consumer, the
files under test, and GitHub's heading anchors (runbook links point at them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
RULES_DIR = ROOT / "prometheus" / "rules"
PROMTOOL_TESTS_DIR = ROOT / "prometheus" / "tests"
DOC = ROOT / "docs" / "observability.md"
DASHBOARD_UID = "vinops-ingest"

# Exported by the consumer (consumer/observe/metrics.py); dashboards and rules use nothing else.
CONSUMER_METRICS = frozenset(
    {
        "vinops_ingested_rows_total",
        "vinops_parse_errors_total",
        "vinops_dead_letters_total",
        "vinops_dead_letters_incomplete_total",
        "vinops_batch_retry_started_timestamp_seconds",
        "vinops_upsert_conflicts_total",
        "vinops_fields_total",
        "vinops_fields_unknown_total",
        "vinops_batch_duration_seconds_bucket",
        "vinops_batch_rows_bucket",
        "vinops_batch_rows_sum",
        "vinops_batch_rows_count",
        "vinops_consumer_lag_messages",
        "vinops_event_lag_seconds",
        "vinops_last_commit_timestamp_seconds",
        "vinops_commits_total",
        "vinops_etl_runs_total",
        "vinops_etl_runs_stuck",
        "vinops_consumer_ready",
        "vinops_offset_gaps_total",
        "vinops_rows_unchanged_total",
        "vinops_digest_mismatches_total",
        "vinops_lots_removed_total",
        "vinops_group_lag_messages",
        "vinops_partition_assigned",
        "vinops_publish_to_commit_seconds_bucket",
        "vinops_database_bytes",
        "vinops_database_growth_alert_bytes_per_day",
        "vinops_upkeep_runs_total",
        "vinops_staging_partitions_changed_total",
    }
)
METRIC_NAME = re.compile(r"\bvinops_[a-z_]+\b")
PG_METRIC_NAME = re.compile(r"\bpg_[a-z_]+\b")
EXPORTER_QUERIES = ROOT / "prometheus" / "postgres-exporter" / "queries.yml"
# The exporter's own defaults that dashboards and rules use (0.11.1, Debian's and compose's).
EXPORTER_DEFAULT_METRICS = frozenset({"pg_stat_activity_count", "pg_up"})


def exporter_metrics() -> frozenset[str]:
    """Series the exporter makes of queries.yml (<query name>_<column>, labels excluded)
    and the defaults used."""
    names = {
        f"{query}_{column}"
        for query, spec in load_yaml(EXPORTER_QUERIES).items()
        for metric in spec["metrics"]
        for column, how in metric.items()
        if how["usage"] != "LABEL"
    }
    return frozenset(names) | EXPORTER_DEFAULT_METRICS


RECORDED_NAME = re.compile(r"\bvinops:[a-z0-9_:]+\b")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules(kind: str) -> list[dict[str, Any]]:
    """Every rule of `kind` ("alert" or "record") in prometheus/rules/*.yml."""
    return [
        rule
        for path in sorted(RULES_DIR.glob("*.yml"))
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
        if kind in rule
    ]


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, - for spaces."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def doc_anchors(path: Path = DOC) -> set[str]:
    headings = re.findall(r"^#{1,6} +(.+?) *$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return {github_anchor(h) for h in headings}
