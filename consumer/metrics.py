"""Prometheus metrics of the consumer: ONE object, registered on an injected registry.

Names are a contract with dashboards and alert rules: do not rename. Label values are
pre-initialised to 0 so dashboards show series before the first event. Every label has a
bounded value set (outcomes, statuses, reason classes, partitions of our own topics).
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from consumer.histogram import BatchHistogram

OUTCOMES = ("inserted", "updated", "unchanged", "stale")
RUN_STATUSES = ("started", "completed", "failed")
PARSE_REASONS = (
    "csv_field_count", "no_lot_number", "bad_json", "missing_headers", "contract_version",
    "constraint", "bad_value", "malformed_row", "oversized",
)  # fmt: skip
# A dead letter not sent as it was: cut to fit the topic, or refused and kept in the DB only.
INCOMPLETE_DELIVERIES = ("truncated", "unsent")
CONFLICT_KINDS = ("transliterated", "invalid", "masked", "spelling_differs", "lot_vin_changed")

_BATCH_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_ROWS = (1, 10, 50, 100, 500, 1000, 2000, 5000, 10000, 20000)
_LATENCY = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        ProcessCollector(registry=registry)
        self.ingested_rows = Counter(
            "vinops_ingested_rows", "Rows by upsert outcome", ["outcome"], registry=registry
        )
        self.parse_errors = Counter(
            "vinops_parse_errors", "Rows recorded in audit.parse_errors", ["reason"],
            registry=registry,
        )  # fmt: skip
        self.upsert_conflicts = Counter(
            "vinops_upsert_conflicts", "VIN conflicts recorded in audit.vin_conflicts", ["kind"],
            registry=registry,
        )  # fmt: skip
        self.dead_letters = Counter(
            "vinops_dead_letters", "Messages sent to the dead-letter topic", ["reason"],
            registry=registry,
        )  # fmt: skip
        self.rows_unchanged = Counter(
            "vinops_rows_unchanged",
            "Rows whose content was already applied: referenced in the raw layer, not processed",
            registry=registry,
        )
        self.dead_letters_incomplete = Counter(
            "vinops_dead_letters_incomplete",
            "Dead letters not sent in full (the database keeps the message)", ["delivery"],
            registry=registry,
        )  # fmt: skip
        self.fields = Counter("vinops_fields", "Mapped fields seen", registry=registry)
        self.fields_unknown = Counter(
            "vinops_fields_unknown", "Mapped fields empty or masked", registry=registry
        )
        self.batch_duration = Histogram(
            "vinops_batch_duration_seconds", "Prepare + write + commit of one batch",
            buckets=_BATCH_SECONDS, registry=registry,
        )  # fmt: skip
        self.batch_rows = Histogram(
            "vinops_batch_rows", "Messages per committed batch", buckets=_BATCH_ROWS,
            registry=registry,
        )  # fmt: skip
        self.consumer_lag = Gauge(
            "vinops_consumer_lag_messages", "Highwater minus position per assigned partition",
            ["topic", "partition"], registry=registry,
        )  # fmt: skip
        self.group_lag = Gauge(
            "vinops_group_lag_messages",
            "End offset minus the group's offset in PostgreSQL, for every partition (any owner)",
            ["topic", "partition"], registry=registry,
        )  # fmt: skip
        self.partition_assigned = Gauge(
            "vinops_partition_assigned", "1 when the partition is assigned to this process",
            ["topic", "partition"], registry=registry,
        )  # fmt: skip
        self.event_lag = Gauge(
            "vinops_event_lag_seconds", "Now minus the newest committed message timestamp",
            registry=registry,
        )  # fmt: skip
        self.last_commit = Gauge(
            "vinops_last_commit_timestamp_seconds", "Unix time of the last DB commit",
            registry=registry,
        )  # fmt: skip
        self.commits = Counter(
            "vinops_commits", "Batches committed to PostgreSQL", registry=registry
        )
        self.etl_runs = Counter(
            "vinops_etl_runs", "audit.etl_runs status transitions", ["status"], registry=registry
        )
        self.etl_runs_stuck = Gauge(
            "vinops_etl_runs_stuck", "ETL runs 'started' for more than 30 minutes",
            registry=registry,
        )  # fmt: skip
        self.offset_gaps = Counter(
            "vinops_offset_gaps", "Fetches that skipped records; the partition was read again",
            registry=registry,
        )  # fmt: skip
        self.retry_started = Gauge(
            "vinops_batch_retry_started_timestamp_seconds",
            "Unix time the batch being retried (consumption paused) first failed; 0 if none",
            registry=registry,
        )  # fmt: skip
        self.ready = Gauge("vinops_consumer_ready", "1 when /readyz is 200", registry=registry)
        self.publish_to_commit = BatchHistogram(
            "vinops_publish_to_commit_seconds", "DB commit time minus Kafka timestamp per message",
            buckets=_LATENCY, registry=registry,
        )  # fmt: skip
        for outcome in OUTCOMES:
            self.ingested_rows.labels(outcome)
        for status in RUN_STATUSES:
            self.etl_runs.labels(status)
        for reason in PARSE_REASONS:
            self.parse_errors.labels(reason)
            self.dead_letters.labels(reason)
        for delivery in INCOMPLETE_DELIVERIES:
            self.dead_letters_incomplete.labels(delivery)
        for kind in CONFLICT_KINDS:
            self.upsert_conflicts.labels(kind)

    @staticmethod
    def _add(counter: Counter, counts: Mapping[str, int]) -> None:
        for label, n in counts.items():
            if n:
                counter.labels(label).inc(n)

    def record_outcome(
        self,
        *,
        rows: Mapping[str, int],
        parse_errors: Mapping[str, int],
        conflicts: Mapping[str, int],
        runs: Mapping[str, int],
        fields_total: int,
        fields_unknown: int,
    ) -> None:
        self._add(self.ingested_rows, rows)
        self._add(self.parse_errors, parse_errors)
        self._add(self.upsert_conflicts, conflicts)
        self._add(self.etl_runs, runs)
        self.fields.inc(fields_total)
        self.fields_unknown.inc(fields_unknown)
