"""Generate the Grafana dashboards in grafana/dashboards/ from code.

    python grafana/build_dashboards.py          # rewrite the JSON files
    python grafana/build_dashboards.py --check  # exit 1 if the committed JSON is stale

The JSON is committed (Grafana provisions files, not Python); a unit test keeps both in
sync. Panel ids are fixed because alert annotations link to them (`viewPanel=<id>`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

Json = dict[str, Any]

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
UID = "vinops-ingest"
DATASOURCE: Json = {"type": "prometheus", "uid": "${datasource}"}
# Every panel follows the instance picker; `.*` (All) also matches scaled replicas.
SEL = 'job="vinops-consumer", instance=~"$instance"'
UNKNOWN_RATE_THRESHOLD = 0.15  # same number as VinopsUnknownRateHigh
COMMIT_AGE_ALERT_SECONDS = 300  # same number as VinopsLagGrowingNoCommits
PAUSED_ALERT_SECONDS = 300  # same number as VinopsBatchRetriedTooLong
XACT_ALERT_SECONDS = 300  # same number as VinopsTransactionOpenTooLong
BLOAT_ALERT_RATIO = 0.2  # same number as VinopsTableBloat
# PostgreSQL's exporter is one target per database server, not per consumer.
PG = 'job="vinops-postgres"'


def target(ref: str, expr: str, legend: str) -> Json:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}


def thresholds(*steps: tuple[str, float | None]) -> Json:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def grid(x: int, y: int, w: int, h: int = 8) -> Json:
    return {"x": x, "y": y, "w": w, "h": h}


def timeseries(
    pid: int,
    title: str,
    *,
    about: str,
    targets: list[Json],
    unit: str,
    pos: Json,
    limit: Json | None = None,
) -> Json:
    """A time series panel; `limit` draws a red threshold line (the alert's threshold)."""
    custom: Json = {
        "drawStyle": "line",
        "lineWidth": 1,
        "fillOpacity": 10,
        "showPoints": "never",
        "spanNulls": False,
        "thresholdsStyle": {"mode": "line" if limit else "off"},
    }
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "description": about,
        "datasource": DATASOURCE,
        "gridPos": pos,
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "custom": custom,
                "thresholds": limit or thresholds(("green", None)),
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(
    pid: int, title: str, *, about: str, targets: list[Json], unit: str, pos: Json, steps: Json
) -> Json:
    return {
        "id": pid,
        "type": "stat",
        "title": title,
        "description": about,
        "datasource": DATASOURCE,
        "gridPos": pos,
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": steps}, "overrides": []},
        "options": {
            "colorMode": "background",
            "graphMode": "area",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "auto",
        },
    }


def row(pid: int, title: str, y: int) -> Json:
    return {
        "id": pid,
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": grid(0, y, 24, 1),
        "panels": [],
    }


def rate(metric: str) -> str:
    return f"rate({metric}{{{SEL}}}[$__rate_interval])"


def quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q}, sum by (le) ({rate(histogram + '_bucket')}))"


def throughput_panels() -> list[Json]:
    return [
        row(101, "Throughput and data quality", 0),
        timeseries(
            1,
            "Rows ingested / s by outcome",
            about=(
                "Rows applied to public.lots per second: inserted, updated, unchanged (same "
                "data) and stale (older source_updated_at than stored, skipped); and rows "
                "whose whole content was already applied (a repeated snapshot's unchanged "
                "rows): only referenced in the raw layer, never decoded or written again; and "
                "rows whose digest header named another content than their value (a producer "
                "bug or a replayed tool): never skipped on the header's word; and lots marked "
                "removed by a completed full snapshot, or returned by a newer listing."
            ),
            targets=[
                target(
                    "A",
                    f"sum by (outcome) ({rate('vinops_ingested_rows_total')})",
                    "{{outcome}}",
                ),
                target(
                    "B",
                    f"sum({rate('vinops_rows_unchanged_total')})",
                    "unchanged content (skipped)",
                ),
                target(
                    "C",
                    f"sum({rate('vinops_digest_mismatches_total')})",
                    "digest header disagreed (processed in full)",
                ),
                target(
                    "D",
                    f"sum by (change) ({rate('vinops_lots_removed_total')})",
                    "lots {{change}} (full snapshots)",
                ),
            ],
            unit="ops",
            pos=grid(0, 1, 12),
        ),
        timeseries(
            4,
            "Unknown-field rate (alert at 15%)",
            about=(
                "Share of mapped fields that were empty, masked ([PREMIUM]) or unparseable over "
                "5 minutes, for the whole fleet: the exact series VinopsUnknownRateHigh "
                "evaluates. The red line is the alert threshold."
            ),
            targets=[target("A", "vinops:unknown_field_ratio:rate5m", "unknown share (5m)")],
            unit="percentunit",
            pos=grid(12, 1, 12),
            limit=thresholds(("green", None), ("red", UNKNOWN_RATE_THRESHOLD)),
        ),
        timeseries(
            2,
            "Parse errors and dead letters / s",
            about=(
                "Rows that failed to parse (kept in the raw layer and audit.parse_errors) and "
                "messages sent to the dead-letter topic, by reason."
            ),
            targets=[
                target(
                    "A",
                    f"sum by (reason) ({rate('vinops_parse_errors_total')})",
                    "parse error: {{reason}}",
                ),
                target(
                    "B",
                    f"sum by (reason) ({rate('vinops_dead_letters_total')})",
                    "dead letter: {{reason}}",
                ),
            ],
            unit="ops",
            pos=grid(0, 9, 12),
        ),
        timeseries(
            3,
            "Upsert conflicts / s by kind",
            about=(
                "Conflicts recorded in audit.vin_conflicts: transliterated, invalid, masked, "
                "spelling_differs, lot_vin_changed, and stale (last write wins skipped an "
                "older version)."
            ),
            targets=[
                target(
                    "A",
                    f"sum by (kind) ({rate('vinops_upsert_conflicts_total')})",
                    "{{kind}}",
                )
            ],
            unit="ops",
            pos=grid(12, 9, 12),
        ),
    ]


def lag_panels() -> list[Json]:
    return [
        row(102, "Lag and freshness", 17),
        timeseries(
            5,
            "Consumer lag per partition (messages)",
            about=(
                "Messages between the committed offset and the end of each partition: as the "
                "owning consumer sees it, and for the whole group from the offsets stored in "
                "PostgreSQL (every partition, owned or not). Growing lag with no commits is "
                "VinopsLagGrowingNoCommits; group lag on a partition nobody owns is "
                "VinopsPartitionUnowned."
            ),
            targets=[
                target(
                    "A",
                    f"max by (topic, partition) (vinops_consumer_lag_messages{{{SEL}}})",
                    "{{topic}}[{{partition}}]",
                ),
                target(
                    "B",
                    f"max by (topic, partition) (vinops_group_lag_messages{{{SEL}}})",
                    "group {{topic}}[{{partition}}]",
                ),
            ],
            unit="short",
            pos=grid(0, 18, 12),
        ),
        timeseries(
            6,
            "Event lag (s)",
            about="Now minus the Kafka timestamp of the newest committed message.",
            targets=[
                target(
                    "A", f"max by (instance) (vinops_event_lag_seconds{{{SEL}}})", "{{instance}}"
                )
            ],
            unit="s",
            pos=grid(12, 18, 12),
        ),
        timeseries(
            7,
            "Commits / s",
            about=(
                "Committed batches per second (one PostgreSQL transaction each, offsets included)."
            ),
            targets=[
                target("A", f"sum by (instance) ({rate('vinops_commits_total')})", "{{instance}}")
            ],
            unit="ops",
            pos=grid(0, 26, 12),
        ),
        stat(
            8,
            "Time since last commit",
            about=(
                "Seconds since the newest batch commit of the selected consumers. Expected to "
                "grow when the topic is idle; red at the 5 minute VinopsLagGrowingNoCommits "
                "threshold."
            ),
            targets=[
                target(
                    "A",
                    f"time() - max(vinops_last_commit_timestamp_seconds{{{SEL}}})",
                    "since last commit",
                )
            ],
            unit="s",
            pos=grid(12, 26, 12),
            steps=thresholds(
                ("green", None),
                ("orange", COMMIT_AGE_ALERT_SECONDS / 2),
                ("red", COMMIT_AGE_ALERT_SECONDS),
            ),
        ),
    ]


def batch_panels() -> list[Json]:
    return [
        row(103, "Batches and ETL runs", 34),
        timeseries(
            9,
            "Batch duration p50 / p99",
            about="Seconds from fetch to commit for one batch (map, one transaction, commit).",
            targets=[
                target("A", quantile(0.5, "vinops_batch_duration_seconds"), "p50"),
                target("B", quantile(0.99, "vinops_batch_duration_seconds"), "p99"),
            ],
            unit="s",
            pos=grid(0, 35, 12),
        ),
        timeseries(
            10,
            "Batch size (rows)",
            about="Messages per committed batch: median, 99th percentile and mean.",
            targets=[
                target("A", quantile(0.5, "vinops_batch_rows"), "p50"),
                target("B", quantile(0.99, "vinops_batch_rows"), "p99"),
                target(
                    "C",
                    f"sum({rate('vinops_batch_rows_sum')})"
                    f" / sum({rate('vinops_batch_rows_count')})",
                    "mean",
                ),
            ],
            unit="short",
            pos=grid(12, 35, 12),
        ),
        timeseries(
            11,
            "ETL runs by status",
            about=(
                "File runs (audit.etl_runs) started, completed and failed per interval. "
                "Any failure is VinopsEtlRunFailed."
            ),
            targets=[
                target(
                    "A",
                    f"sum by (status) (increase(vinops_etl_runs_total{{{SEL}}}[$__rate_interval]))",
                    "{{status}}",
                )
            ],
            unit="short",
            pos=grid(0, 43, 16),
        ),
        stat(
            12,
            "Stuck ETL runs",
            about="Runs started more than 30 minutes ago and not completed (VinopsEtlRunStuck).",
            targets=[target("A", f"max(vinops_etl_runs_stuck{{{SEL}}})", "stuck runs")],
            unit="short",
            pos=grid(16, 43, 8),
            steps=thresholds(("green", None), ("red", 1)),
        ),
    ]


def process_panels() -> list[Json]:
    return [
        row(104, "Consumer processes", 51),
        timeseries(
            13,
            "Consumers up / ready",
            about=(
                "up: targets Prometheus scrapes successfully; ready: consumers with partitions "
                "assigned and PostgreSQL and the broker reachable."
            ),
            targets=[
                target("A", f"sum(up{{{SEL}}})", "up"),
                target("B", f"sum(vinops_consumer_ready{{{SEL}}})", "ready"),
            ],
            unit="short",
            pos=grid(0, 52, 8),
        ),
        timeseries(
            14,
            "Process CPU",
            about="CPU time per second of each consumer process (100% = one core).",
            targets=[target("A", rate("process_cpu_seconds_total"), "{{instance}}")],
            unit="percentunit",
            pos=grid(8, 52, 8),
        ),
        timeseries(
            15,
            "Process memory (RSS)",
            about="Resident memory of each consumer process.",
            targets=[target("A", f"process_resident_memory_bytes{{{SEL}}}", "{{instance}}")],
            unit="bytes",
            pos=grid(16, 52, 8),
        ),
    ]


def isolation_panels() -> list[Json]:
    started = f"vinops_batch_retry_started_timestamp_seconds{{{SEL}}}"
    return [
        row(105, "Bad rows and retries", 60),
        timeseries(
            16,
            "Dead letters not sent in full",
            about=(
                "Dead letters the dead-letter topic could not take as they were, per interval: "
                "truncated (a cut letter went: size, SHA-256 and where the database keeps the "
                "whole message in its headers) and unsent (Kafka refused even that; the "
                "message is in audit.parse_errors and raw.file_rows only). The batch committed."
            ),
            targets=[
                target(
                    "A",
                    "sum by (delivery) (increase(vinops_dead_letters_incomplete_total"
                    f"{{{SEL}}}[$__rate_interval]))",
                    "{{delivery}}",
                )
            ],
            unit="short",
            pos=grid(0, 61, 12),
        ),
        stat(
            17,
            "Paused on one batch",
            about=(
                "Seconds the longest-retried batch has been failing transiently (PostgreSQL "
                "or the broker away) with consumption paused; 0 when none is. Red at the 5 "
                "minute VinopsBatchRetriedTooLong threshold."
            ),
            targets=[
                target("A", f"max((time() - {started}) * ({started} > bool 0))", "paused for")
            ],
            unit="s",
            pos=grid(12, 61, 12),
            steps=thresholds(
                ("green", None),
                ("orange", PAUSED_ALERT_SECONDS / 5),
                ("red", PAUSED_ALERT_SECONDS),
            ),
        ),
    ]


def latency_panels() -> list[Json]:
    return [
        row(106, "Latency and skipped records", 69),
        timeseries(
            18,
            "Publish to commit p50 / p99",
            about=(
                "Seconds from a row's Kafka timestamp (when the producer published it) to the "
                "PostgreSQL commit of its batch: what a reader of the database waits for."
            ),
            targets=[
                target("A", quantile(0.5, "vinops_publish_to_commit_seconds"), "p50"),
                target("B", quantile(0.99, "vinops_publish_to_commit_seconds"), "p99"),
            ],
            unit="s",
            pos=grid(0, 70, 12),
        ),
        timeseries(
            19,
            "Offset gaps / s",
            about=(
                "Fetches that handed out records past the expected offset; the partition was "
                "read again from there, nothing was lost. A gap a fresh read shows again "
                "(compaction of the files topic) is accepted. Sustained on the row topic: "
                "worth a look at the broker."
            ),
            targets=[
                target(
                    "A", f"sum by (instance) ({rate('vinops_offset_gaps_total')})", "{{instance}}"
                )
            ],
            unit="ops",
            pos=grid(12, 70, 12),
        ),
    ]


def postgres_panels() -> list[Json]:
    def top(ref: str, expr: str) -> Json:
        return target(ref, f"topk(10, {expr})", "{{query}}")

    dead_share = (
        f"pg_table_dead_tuples{{{PG}}} / clamp_min(pg_table_live_tuples{{{PG}}}"
        f" + pg_table_dead_tuples{{{PG}}}, 1)"
    )
    return [
        row(107, "PostgreSQL", 78),
        timeseries(
            20,
            "Top statements by total time",
            about=(
                "Execution time per second of the statements (pg_stat_statements) with the "
                "most total time: where the database's time goes. Legend: the statement's "
                "first 80 characters."
            ),
            targets=[top("A", f"rate(pg_statements_total_seconds{{{PG}}}[$__rate_interval])")],
            unit="s",
            pos=grid(0, 79, 8),
        ),
        timeseries(
            21,
            "Top statements by mean time",
            about="Mean execution time per call of the top statements (pg_stat_statements).",
            targets=[top("A", f"pg_statements_mean_seconds{{{PG}}}")],
            unit="s",
            pos=grid(8, 79, 8),
        ),
        timeseries(
            22,
            "Top statements by calls / s",
            about="Calls per second of the top statements (pg_stat_statements).",
            targets=[top("A", f"rate(pg_statements_calls{{{PG}}}[$__rate_interval])")],
            unit="ops",
            pos=grid(16, 79, 8),
        ),
        timeseries(
            23,
            "Connections by state",
            about="Server connections (pg_stat_activity) by state: active, idle, idle in "
            "transaction...",
            targets=[target("A", f"sum by (state) (pg_stat_activity_count{{{PG}}})", "{{state}}")],
            unit="short",
            pos=grid(0, 87, 8),
        ),
        timeseries(
            24,
            "Locks waiting",
            about="Lock requests not granted (pg_locks): a backend waits for another's lock.",
            targets=[target("A", f"max(pg_locks_waiting_count{{{PG}}})", "waiting")],
            unit="short",
            pos=grid(8, 87, 8),
        ),
        stat(
            25,
            "Oldest open transaction",
            about=(
                "Age of the oldest open transaction of the database, running or idle in "
                "transaction. Red at the 5 minute VinopsTransactionOpenTooLong threshold."
            ),
            targets=[target("A", f"max(pg_xact_oldest_seconds{{{PG}}})", "oldest")],
            unit="s",
            pos=grid(16, 87, 8),
            steps=thresholds(
                ("green", None), ("orange", XACT_ALERT_SECONDS / 5), ("red", XACT_ALERT_SECONDS)
            ),
        ),
        timeseries(
            26,
            "WAL written / s",
            about="Write-ahead log bytes per second: the write load of the whole server.",
            targets=[
                target("A", f"sum(rate(pg_wal_position_bytes{{{PG}}}[$__rate_interval]))", "WAL")
            ],
            unit="Bps",
            pos=grid(0, 95, 8),
        ),
        timeseries(
            27,
            "Checkpoints",
            about=(
                "Checkpoints per interval (from the control file's last checkpoint time). "
                "Many more than one per checkpoint_timeout: max_wal_size is too small."
            ),
            targets=[
                target(
                    "A",
                    f"sum(changes(pg_checkpoint_last_time_seconds{{{PG}}}[$__rate_interval]))",
                    "checkpoints",
                )
            ],
            unit="short",
            pos=grid(8, 95, 8),
        ),
        timeseries(
            28,
            "Table and index sizes",
            about="The largest tables of our schemas: the table (TOAST included) and its indexes.",
            targets=[
                target("A", f"topk(10, pg_table_heap_bytes{{{PG}}})", "{{schema}}.{{table}}"),
                target(
                    "B",
                    f"topk(10, pg_table_index_bytes{{{PG}}})",
                    "{{schema}}.{{table}} indexes",
                ),
            ],
            unit="bytes",
            pos=grid(16, 95, 8),
        ),
        timeseries(
            29,
            "Dead row share (alert at 20%)",
            about=(
                "Dead rows over live + dead per table (statistics): space autovacuum has not "
                "reclaimed. The red line is VinopsTableBloat's threshold (with > 10,000 dead)."
            ),
            targets=[target("A", f"topk(10, {dead_share})", "{{schema}}.{{table}}")],
            unit="percentunit",
            pos=grid(0, 103, 24),
            limit=thresholds(("green", None), ("red", BLOAT_ALERT_RATIO)),
        ),
    ]


def storage_panels() -> list[Json]:
    # Every consumer reads the same database: max over processes, never the sum.
    per_schema = f"max by (schema) (vinops_database_bytes{{{SEL}}})"
    growth = f"max(sum by (instance) (deriv(vinops_database_bytes{{{SEL}}}[6h]))) * 86400"
    return [
        row(108, "Storage", 111),
        timeseries(
            30,
            "Database size per schema",
            about=(
                "Bytes of each schema of ours (tables, indexes, TOAST), read by the consumer "
                "every VINOPS_STORAGE_METRICS_INTERVAL_S (5 minutes). `consumer status "
                "--storage` breaks it down per table and per day."
            ),
            targets=[target("A", per_schema, "{{schema}}")],
            unit="bytes",
            pos=grid(0, 112, 12),
        ),
        timeseries(
            31,
            "Database growth per day",
            about=(
                "The slope of the database's bytes over the last 6 hours, as bytes a day; "
                "VinopsDatabaseGrowingFast fires above the red line "
                "(VINOPS_DB_GROWTH_ALERT_BYTES_PER_DAY) for an hour."
            ),
            targets=[
                target("A", growth, "growth a day"),
                target(
                    "B",
                    f"max(vinops_database_growth_alert_bytes_per_day{{{SEL}}})",
                    "alert above",
                ),
            ],
            unit="bytes",
            pos=grid(12, 112, 12),
        ),
        timeseries(
            32,
            "Staging maintenance and storage readings",
            about=(
                "The consumers' timed upkeep per interval: staging maintenance runs (ok, busy: "
                "another consumer held the lock, failed: see the log's warning line), storage "
                "readings, and staging.copart_raw day partitions created ahead or dropped "
                "past VINOPS_STAGING_RETENTION_DAYS."
            ),
            targets=[
                target(
                    "A",
                    "sum by (task, result) (increase(vinops_upkeep_runs_total"
                    f"{{{SEL}}}[$__rate_interval]))",
                    "{{task}} {{result}}",
                ),
                target(
                    "B",
                    "sum by (action) (increase(vinops_staging_partitions_changed_total"
                    f"{{{SEL}}}[$__rate_interval]))",
                    "partitions {{action}}",
                ),
            ],
            unit="short",
            pos=grid(0, 120, 24),
        ),
    ]


def templating() -> Json:
    instances = 'label_values(up{job="vinops-consumer"}, instance)'
    return {
        "list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {"text": "Prometheus", "value": "prometheus"},
                "hide": 0,
                "refresh": 1,
                "regex": "",
            },
            {
                "name": "instance",
                "label": "Consumer",
                "type": "query",
                "datasource": DATASOURCE,
                "definition": instances,
                "query": {"query": instances, "refId": "instances"},
                "includeAll": True,
                "multi": True,
                "allValue": ".*",
                "current": {"text": ["All"], "value": ["$__all"]},
                "refresh": 2,
                "sort": 1,
                "hide": 0,
            },
        ]
    }


def alert_annotations() -> Json:
    return {
        "list": [
            {
                "builtIn": 1,
                "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": True,
                "hide": True,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            },
            {
                "datasource": DATASOURCE,
                "enable": True,
                "expr": 'ALERTS{alertname=~"Vinops.+", alertstate="firing"}',
                "iconColor": "red",
                "name": "Firing vinops alerts",
                "step": "1m",
                "tagKeys": "severity",
                "titleFormat": "{{alertname}}",
                "useValueForTime": False,
            },
        ]
    }


def ingest_dashboard() -> Json:
    return {
        "uid": UID,
        "title": "vinops ingest",
        "description": "Copart feed rows through Kafka into PostgreSQL: throughput, data "
        "quality, lag, batches, ETL runs and the consumer processes. Alerts: "
        "docs/observability.md.",
        "tags": ["vinops"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [
            {
                "title": "Prometheus alerts",
                "type": "link",
                "url": "http://localhost:9090/alerts",
                "targetBlank": True,
                "icon": "bolt",
                "tags": [],
            }
        ],
        "annotations": alert_annotations(),
        "templating": templating(),
        "panels": throughput_panels()
        + lag_panels()
        + batch_panels()
        + process_panels()
        + isolation_panels()
        + latency_panels()
        + postgres_panels()
        + storage_panels(),
    }


def build() -> dict[str, Json]:
    """File name -> dashboard model, for every dashboard this project provisions."""
    return {f"{UID}.json": ingest_dashboard()}


def render(dashboard: Json) -> str:
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate grafana/dashboards/*.json.")
    parser.add_argument("--check", action="store_true", help="fail if the JSON is stale")
    args = parser.parse_args(argv)
    stale = []
    for name, dashboard in build().items():
        path = DASHBOARD_DIR / name
        text = render(dashboard)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        sys.stderr.write(f"stale dashboards: {', '.join(stale)}; run {sys.argv[0]}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
