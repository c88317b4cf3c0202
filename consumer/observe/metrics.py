"""Prometheus metrics of the consumer: ONE object, registered on an injected registry.

Names are a contract with dashboards and alert rules: do not rename. Label values are
pre-initialised to 0 so dashboards show series before the first event. Every label has a
bounded value set (outcomes, statuses, reason classes, partitions of our own topics).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from consumer.observe.histogram import BatchHistogram

OUTCOMES = ("inserted", "updated", "unchanged", "stale")
RUN_STATUSES = ("started", "completed", "failed")
PARSE_REASONS = (
    "csv_field_count", "no_lot_number", "bad_json", "missing_headers", "contract_version",
    "constraint", "bad_value", "malformed_row", "oversized",
)  # fmt: skip
# A dead letter not sent as it was: cut to fit the topic, or refused and kept in the DB only.
INCOMPLETE_DELIVERIES = ("truncated", "unsent")
CHANGE_KINDS = ("created", "changed", "removed", "returned")
UPKEEP_RESULTS = (
    ("maintenance", "ok"), ("maintenance", "busy"), ("maintenance", "failed"),
    ("storage", "ok"), ("storage", "failed"),
)  # fmt: skip
CONFLICT_KINDS = ("transliterated", "invalid", "masked", "spelling_differs", "lot_vin_changed")

_BATCH_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_ROWS = (1, 10, 50, 100, 500, 1000, 2000, 5000, 10000, 20000)
_LATENCY = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class Outcome(Protocol):
    """What one committed batch counted (``consumer.store.params.BatchOutcome``)."""

    @property
    def rows(self) -> Mapping[str, int]: ...
    @property
    def parse_errors(self) -> Mapping[str, int]: ...
    @property
    def conflicts(self) -> Mapping[str, int]: ...
    @property
    def runs(self) -> Mapping[str, int]: ...
    @property
    def fields_total(self) -> int: ...
    @property
    def fields_unknown(self) -> int: ...
    @property
    def lots_removed(self) -> Mapping[str, int]: ...
    @property
    def changes(self) -> Mapping[str, int]: ...


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        ProcessCollector(registry=registry)

        # Every series goes to ``registry``: said once here, not at each declaration.
        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

        tp = ("topic", "partition")
        self.ingested_rows = counter("vinops_ingested_rows", "Rows by upsert outcome", "outcome")
        self.parse_errors = counter(
            "vinops_parse_errors", "Rows recorded in audit.parse_errors", "reason"
        )
        self.upsert_conflicts = counter(
            "vinops_upsert_conflicts", "VIN conflicts recorded in audit.vin_conflicts", "kind"
        )
        self.dead_letters = counter(
            "vinops_dead_letters", "Messages sent to the dead-letter topic", "reason"
        )
        self.rows_unchanged = counter(
            "vinops_rows_unchanged",
            "Rows whose content was already applied: referenced in the raw layer, not processed",
        )
        self.digest_mismatches = counter(
            "vinops_digest_mismatches",
            "Row messages whose digest header named another content than their value holds"
            " (processed in full, never skipped on the header's word)",
        )
        self.dead_letters_incomplete = counter(
            "vinops_dead_letters_incomplete",
            "Dead letters not sent in full (the database keeps the message)",
            "delivery",
        )
        self.fields = counter("vinops_fields", "Mapped fields seen")
        self.fields_unknown = counter("vinops_fields_unknown", "Mapped fields empty or masked")
        self.batch_duration = Histogram(
            "vinops_batch_duration_seconds", "Prepare + write + commit of one batch",
            buckets=_BATCH_SECONDS, registry=registry,
        )  # fmt: skip
        self.batch_rows = Histogram(
            "vinops_batch_rows", "Messages per committed batch", buckets=_BATCH_ROWS,
            registry=registry,
        )  # fmt: skip
        self.consumer_lag = gauge(
            "vinops_consumer_lag_messages", "Highwater minus position per assigned partition", *tp
        )
        self.group_lag = gauge(
            "vinops_group_lag_messages",
            "End offset minus the group's offset in PostgreSQL, for every partition (any owner)",
            *tp,
        )
        self.partition_assigned = gauge(
            "vinops_partition_assigned", "1 when the partition is assigned to this process", *tp
        )
        self.event_lag = gauge(
            "vinops_event_lag_seconds", "Now minus the newest committed message timestamp"
        )
        self.last_commit = gauge(
            "vinops_last_commit_timestamp_seconds", "Unix time of the last DB commit"
        )
        self.commits = counter("vinops_commits", "Batches committed to PostgreSQL")
        self.etl_runs = counter("vinops_etl_runs", "audit.etl_runs status transitions", "status")
        self.lots_removed = counter(
            "vinops_lots_removed",
            "Lots marked removed (missing from a completed full snapshot) or returned",
            "change",
        )
        self.lot_changes = counter(
            "vinops_lot_changes", "Lot change events written to the outbox", "kind"
        )
        self.changes_relayed = counter(
            "vinops_lot_changes_relayed", "Lot change events sent to Kafka by this process's relay"
        )
        self.relay_lag_rows = gauge(
            "vinops_relay_lag_rows", "Outbox events not relayed yet (as the relay last counted)"
        )
        self.relay_lag_seconds = gauge(
            "vinops_relay_lag_seconds", "Age of the oldest outbox event not relayed yet; 0 if none"
        )
        self.outbox_rows = gauge(
            "vinops_outbox_rows", "Rows in the change outbox, relayed ones not pruned yet included"
        )
        self.etl_runs_stuck = gauge(
            "vinops_etl_runs_stuck", "ETL runs 'started' for more than 30 minutes"
        )
        self.offset_gaps = counter(
            "vinops_offset_gaps", "Fetches that skipped records; the partition was read again"
        )
        self.retry_started = gauge(
            "vinops_batch_retry_started_timestamp_seconds",
            "Unix time the batch being retried (consumption paused) first failed; 0 if none",
        )
        self.ready = gauge("vinops_consumer_ready", "1 when /readyz is 200")
        self.publish_to_commit = BatchHistogram(
            "vinops_publish_to_commit_seconds", "DB commit time minus Kafka timestamp per message",
            buckets=_LATENCY, registry=registry,
        )  # fmt: skip
        # Storage lifecycle (consumer/service/upkeep.py): every process reports the same
        # database, so dashboards and the alert take the max over processes, never the sum.
        self.database_bytes = gauge(
            "vinops_database_bytes",
            "Bytes per schema of ours (tables, indexes, TOAST), read on a slow timer",
            "schema",
        )
        self.growth_alert_bytes_per_day = gauge(
            "vinops_database_growth_alert_bytes_per_day",
            "VinopsDatabaseGrowingFast fires above this many bytes a day"
            " (VINOPS_DB_GROWTH_ALERT_BYTES_PER_DAY)",
        )
        self.upkeep_runs = counter(
            "vinops_upkeep_runs",
            "Timed upkeep runs by task (staging maintenance, storage reading) and result"
            " (busy: another process held the maintenance lock)",
            "task", "result",
        )  # fmt: skip
        self.staging_partitions = counter(
            "vinops_staging_partitions_changed",
            "staging.copart_raw day partitions created ahead or dropped past the retention",
            "action",
        )
        for task, result in UPKEEP_RESULTS:
            self.upkeep_runs.labels(task, result)
        for counted, values in (
            (self.staging_partitions, ("created", "dropped")),
            (self.ingested_rows, OUTCOMES),
            (self.etl_runs, RUN_STATUSES),
            (self.lots_removed, ("removed", "returned")),
            (self.lot_changes, CHANGE_KINDS),
            (self.parse_errors, PARSE_REASONS),
            (self.dead_letters, PARSE_REASONS),
            (self.dead_letters_incomplete, INCOMPLETE_DELIVERIES),
            (self.upsert_conflicts, CONFLICT_KINDS),
        ):
            for value in values:
                counted.labels(value)

    @staticmethod
    def _add(counter: Counter, counts: Mapping[str, int]) -> None:
        for label, n in counts.items():
            if n:
                counter.labels(label).inc(n)

    def record_outcome(self, outcome: Outcome) -> None:
        self._add(self.ingested_rows, outcome.rows)
        self._add(self.parse_errors, outcome.parse_errors)
        self._add(self.upsert_conflicts, outcome.conflicts)
        self._add(self.etl_runs, outcome.runs)
        self._add(self.lots_removed, outcome.lots_removed)
        self._add(self.lot_changes, outcome.changes)
        self.fields.inc(outcome.fields_total)
        self.fields_unknown.inc(outcome.fields_unknown)

    def totals(self) -> dict[str, int]:
        """Row outcomes and dead letters counted by this process (logged at exit)."""
        get = self.registry.get_sample_value
        out = {
            o: int(get("vinops_ingested_rows_total", {"outcome": o}) or 0)
            for o in ("inserted", "updated", "unchanged", "stale")
        }
        out["unchanged_content"] = int(get("vinops_rows_unchanged_total") or 0)
        out["digest_mismatches"] = int(get("vinops_digest_mismatches_total") or 0)
        for change in ("removed", "returned"):
            out[f"lots_{change}"] = int(get("vinops_lots_removed_total", {"change": change}) or 0)
        out["commits"] = int(get("vinops_commits_total") or 0)
        for delivery in ("truncated", "unsent"):
            out[f"dead_letters_{delivery}"] = int(
                get("vinops_dead_letters_incomplete_total", {"delivery": delivery}) or 0
            )
        return out
