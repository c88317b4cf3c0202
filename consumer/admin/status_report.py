"""What `consumer status` reports beyond the files: per partition lag (messages and
seconds) and last commit, dead letters, the last hour's rows by outcome, storage.

Read-only. PostgreSQL answers everything it stores (committed offsets, outcomes, sizes);
Kafka, when its bootstrap is set, adds the ends of the partitions, the timestamp of the
oldest message not yet committed (lag in seconds) and the dead-letter topic's size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from consumer.admin.dlq_letters import topic_partitions
from feed.kafka_security import KafkaSecurity

SCHEMAS = ["public", "raw", "staging", "audit", "ingest"]
_OFFSETS_SQL = """
SELECT topic, partition, next_offset, updated_at FROM ingest.consumer_offsets
WHERE group_id = $1 AND topic = ANY($2::text[]) ORDER BY topic, partition
"""
_ROWS_SQL = """
SELECT count(*) AS committed,
       count(*) FILTER (WHERE r.kind = 'malformed') AS malformed,
       count(*) FILTER (WHERE r.kind = 'row' AND c.stored_at < r.ingested_at) AS unchanged
FROM raw.file_rows r JOIN raw.contents c ON c.digest = r.digest
WHERE r.ingested_at > now() - interval '1 hour'
"""
_LOTS_SQL = """
SELECT count(*) FILTER (WHERE created_at > now() - interval '1 hour') AS inserted,
       count(*) FILTER (WHERE created_at <= now() - interval '1 hour') AS updated
FROM public.lots WHERE updated_at > now() - interval '1 hour'
"""
_PARSE_ERRORS_SQL = """
SELECT reason, count(*) AS total,
       count(*) FILTER (WHERE detected_at > now() - interval '1 hour') AS last_hour
FROM audit.parse_errors GROUP BY reason ORDER BY reason
"""
_REPLAYS_SQL = "SELECT state, count(*) FROM ingest.dlq_replays GROUP BY state"
_STORAGE_SQL = """
SELECT n.nspname AS schema, sum(pg_total_relation_size(c.oid))::bigint AS bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname = ANY($1::text[])
GROUP BY 1 ORDER BY 1
"""


@dataclass(frozen=True, slots=True)
class Partition:
    topic: str
    partition: int
    committed: int | None  # next offset stored in PostgreSQL; None: never committed
    end: int | None  # None: Kafka not asked
    lag_messages: int | None
    lag_seconds: float | None  # age of the oldest message not committed; 0 when none
    last_commit: datetime | None


@dataclass(slots=True)
class Report:
    group_id: str
    partitions: list[Partition] = field(default_factory=list)
    dead_letters_in_topic: int | None = None  # None: Kafka not asked
    parse_errors: dict[str, dict[str, int]] = field(default_factory=dict)  # reason -> counts
    replays: dict[str, int] = field(default_factory=dict)  # state -> letters
    last_hour: dict[str, int] = field(default_factory=dict)  # outcome -> rows
    storage: dict[str, int] = field(default_factory=dict)  # schema -> bytes, and "database"

    def as_json(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "partitions": [
                {
                    "topic": p.topic,
                    "partition": p.partition,
                    "committed": p.committed,
                    "end": p.end,
                    "lag_messages": p.lag_messages,
                    "lag_seconds": p.lag_seconds,
                    "last_commit": p.last_commit.isoformat() if p.last_commit else None,
                }
                for p in self.partitions
            ],
            "dead_letters": {
                "in_topic": self.dead_letters_in_topic,
                "parse_errors": self.parse_errors,
                "replays": self.replays,
            },
            "last_hour": self.last_hour,
            "storage_bytes": self.storage,
        }


@dataclass(frozen=True, slots=True)
class KafkaTarget:
    bootstrap: str
    topics: tuple[str, ...]  # the row and files topics
    dlq_topic: str
    security: KafkaSecurity


async def from_database(conn: asyncpg.Connection, group_id: str, topics: list[str]) -> Report:
    report = Report(group_id=group_id)
    report.partitions = [
        Partition(r["topic"], r["partition"], r["next_offset"], None, None, None, r["updated_at"])
        for r in await conn.fetch(_OFFSETS_SQL, group_id, topics)
    ]
    rows = await conn.fetchrow(_ROWS_SQL)
    lots = await conn.fetchrow(_LOTS_SQL)
    # Aggregates without GROUP BY: exactly one row each.
    assert rows is not None  # noqa: S101
    assert lots is not None  # noqa: S101
    report.last_hour = {
        "rows_committed": int(rows["committed"]),
        "unchanged_content": int(rows["unchanged"]),
        "malformed": int(rows["malformed"]),
        "lots_inserted": int(lots["inserted"]),
        "lots_updated": int(lots["updated"]),
    }
    report.parse_errors = {
        r["reason"]: {"total": int(r["total"]), "last_hour": int(r["last_hour"])}
        for r in await conn.fetch(_PARSE_ERRORS_SQL)
    }
    report.last_hour["parse_errors"] = sum(v["last_hour"] for v in report.parse_errors.values())
    report.replays = {r[0]: int(r[1]) for r in await conn.fetch(_REPLAYS_SQL)}
    report.storage = {r["schema"]: int(r["bytes"]) for r in await conn.fetch(_STORAGE_SQL, SCHEMAS)}
    report.storage["database"] = int(
        await conn.fetchval("SELECT pg_database_size(current_database())")
    )
    return report


async def _oldest_timestamps(
    consumer: AIOKafkaConsumer, starts: dict[TopicPartition, int], wait_s: float = 5.0
) -> dict[TopicPartition, float]:
    """Kafka timestamp (s) of the first record at or after each start offset."""
    if not starts:
        return {}
    consumer.assign(list(starts))
    for tp, offset in starts.items():
        consumer.seek(tp, offset)
    found: dict[TopicPartition, float] = {}
    deadline = time.monotonic() + wait_s
    while len(found) < len(starts) and time.monotonic() < deadline:
        for tp, records in (await consumer.getmany(timeout_ms=500, max_records=1)).items():
            if records and tp not in found:
                found[tp] = records[0].timestamp / 1000.0
                consumer.pause(tp)
    return found


async def add_kafka(report: Report, target: KafkaTarget) -> None:
    """Ends, lag and the dead-letter topic's size from the brokers (topics that do not
    exist count as empty)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=target.bootstrap,
        enable_auto_commit=False,
        **target.security.client_options(),
    )
    try:
        await consumer.start()
        tps = [
            TopicPartition(t, p)
            for t in (*target.topics, target.dlq_topic)
            for p in await topic_partitions(target.bootstrap, t, target.security)
        ]
        ends = await consumer.end_offsets(tps) if tps else {}
        dlq = [tp for tp in tps if tp.topic == target.dlq_topic]
        if dlq:
            starts = await consumer.beginning_offsets(dlq)
            report.dead_letters_in_topic = sum(ends[tp] - starts[tp] for tp in dlq)
        else:
            report.dead_letters_in_topic = 0
        stored = {(p.topic, p.partition): p for p in report.partitions}
        merged: list[Partition] = []
        lagging: dict[TopicPartition, int] = {}
        for tp in (tp for tp in tps if tp.topic != target.dlq_topic):
            known = stored.get((tp.topic, tp.partition))
            committed = known.committed if known else None
            lag = ends[tp] - (committed or 0)
            if lag > 0:
                lagging[tp] = committed or 0
            age = 0.0 if lag <= 0 else None  # filled in below from the oldest message
            last = known.last_commit if known else None
            merged.append(Partition(tp.topic, tp.partition, committed, ends[tp], lag, age, last))
        oldest = await _oldest_timestamps(consumer, lagging)
        now = time.time()
        report.partitions = [
            p
            if p.lag_seconds is not None
            else _with_age(p, oldest.get(TopicPartition(p.topic, p.partition)), now)
            for p in merged
        ]
    finally:
        await consumer.stop()


def _with_age(p: Partition, timestamp: float | None, now: float) -> Partition:
    age = None if timestamp is None else max(0.0, now - timestamp)
    return Partition(p.topic, p.partition, p.committed, p.end, p.lag_messages, age, p.last_commit)
