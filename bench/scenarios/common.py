"""Shared pieces of the scenarios: the commands, the counts check, commit times."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka.admin import AIOKafkaAdminClient

from bench.expect import Expected
from bench.stack import (
    VENV_BIN,
    Database,
    Stack,
    Topics,
    create_database,
    create_topics,
    delete_topics,
    drop_database,
)
from devstack.dsn import dsn_for

Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Sizes:
    rows: int  # end-to-end, floor, producer/kcat, scale
    naive_seconds: float  # the naive consumer runs this long (then extrapolates)
    latency_seconds: float
    latency_rate: int
    memory_rows: int


QUICK = Sizes(rows=20_000, naive_seconds=10, latency_seconds=10, latency_rate=2000,
              memory_rows=100_000)  # fmt: skip
FULL = Sizes(rows=200_000, naive_seconds=30, latency_seconds=60, latency_rate=2000,
             memory_rows=1_000_000)  # fmt: skip


@dataclass(slots=True)
class Ctx:
    stack: Stack
    sizes: Sizes
    file: Path
    expected: Expected
    quick: bool = False
    failures: list[str] = field(default_factory=list)  # wrong counts / crashes (quick fails)
    results: dict[str, Result] = field(default_factory=dict)  # scenarios done so far

    def fail(self, what: str) -> None:
        self.failures.append(what)


def publish_cmd(topics: Topics, *files: Path) -> list[str]:
    return [str(VENV_BIN / "producer"), "publish", "--topic", topics.rows,
            "--files-topic", topics.files, "--json", *map(str, files)]  # fmt: skip


def consumer_cmd(topics: Topics, group: str, *, idle: float | None = 2.0) -> list[str]:
    cmd = [str(VENV_BIN / "consumer"), "run", "--topic", topics.rows, "--files-topic",
           topics.files, "--dlq-topic", topics.dlq, "--group-id", group, "--metrics-port", "0",
           "--log-format", "json"]  # fmt: skip
    return [*cmd, "--exit-when-idle", str(idle)] if idle is not None else cmd


def logged_at(log_text: str, msg: str) -> list[tuple[float, dict[str, Any]]]:
    """(Unix time, record) of every JSON log line of the consumer whose message is ``msg``,
    in log order."""
    out: list[tuple[float, dict[str, Any]]] = []
    needle = f'"{msg}"'
    for line in log_text.splitlines():
        if needle not in line:
            continue
        with contextlib.suppress(orjson.JSONDecodeError, KeyError, ValueError, TypeError):
            record = orjson.loads(line)
            if record.get("msg") == msg:
                out.append((datetime.fromisoformat(record["ts"]).timestamp(), record))
    return out


def last_commit_time(log_text: str) -> float | None:
    """Unix time of the consumer's last 'batch committed' log line (the COMMIT returned)."""
    commits = logged_at(log_text, "batch committed")
    return commits[-1][0] if commits else None


def first_assignment_time(log_text: str) -> float | None:
    """Unix time of the consumer's first 'partitions assigned' log line."""
    assignments = logged_at(log_text, "partitions assigned")
    return assignments[0][0] if assignments else None


# The raw layer's shape changes (issue 12: content-addressed, raw.rows becomes the view
# raw.v_rows over raw.file_rows): everything that knows it is in these two helpers.
async def raw_rows(conn: asyncpg.Connection) -> int:
    """Physical feed rows the raw layer lists (one per row of every published file)."""
    for table in ("raw.file_rows", "raw.v_rows", "raw.rows"):  # cheapest first
        if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
            return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    raise RuntimeError("no raw layer table: raw.file_rows, raw.v_rows or raw.rows")


async def raw_layer_bytes(conn: asyncpg.Connection) -> int:
    """On-disk bytes of every ordinary table of schema raw (indexes and TOAST included)."""
    return int(
        await conn.fetchval(
            """SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'raw' AND c.relkind IN ('r', 'p')"""
        )
    )


async def database_bytes(stack: Stack, db: Database) -> int:
    """pg_database_size after a CHECKPOINT (WAL and dirty buffers flushed first, so that
    two readings compare what the data files hold)."""
    conn = await asyncpg.connect(dsn_for(stack.superuser_dsn or stack.admin_dsn, db.name))
    try:
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")
        return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await conn.close()


async def table_bytes(stack: Stack, db: Database) -> dict[str, int]:
    """Each table's bytes with its indexes and TOAST (after the CHECKPOINT database_bytes
    takes): where a database's growth went."""
    conn = await asyncpg.connect(dsn_for(stack.superuser_dsn or stack.admin_dsn, db.name))
    try:
        rows = await conn.fetch(
            "SELECT n.nspname || '.' || c.relname AS name, pg_total_relation_size(c.oid) AS b "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'm') "
            "AND n.nspname IN ('public', 'raw', 'staging', 'audit', 'ingest')"
        )
        return {r["name"]: int(r["b"]) for r in rows}
    finally:
        await conn.close()


def growth_by_table(before: dict[str, int], after: dict[str, int], top: int = 8) -> dict[str, int]:
    """The tables that grew most, largest first."""
    grown = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    return dict(sorted(grown.items(), key=lambda kv: -kv[1])[:top])


async def db_counts(db: Database) -> dict[str, Any]:
    conn = await asyncpg.connect(db.admin_dsn)
    try:
        raw = await raw_rows(conn)
        row = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM public.lots) AS lots,
                      (SELECT count(*) FROM audit.parse_errors) AS parse_errors,
                      (SELECT extract(epoch FROM max(updated_at))
                         FROM ingest.consumer_offsets) AS last_offset_at"""
        )
    finally:
        await conn.close()
    return {"raw_rows": raw, **(dict(row) if row is not None else {})}


def check_counts(
    ctx: Ctx, name: str, counts: dict[str, Any], exp: Expected, published: int | None = None
) -> bool:
    ok = True
    rows = exp.rows if published is None else published
    if counts.get("raw_rows") != rows:
        ctx.fail(f"{name}: raw rows {counts.get('raw_rows')} != rows published {rows}")
        ok = False
    if counts.get("lots") != len(exp.lots):
        ctx.fail(f"{name}: lots {counts.get('lots')} != distinct good lots {len(exp.lots)}")
        ok = False
    return ok


@contextlib.asynccontextmanager
async def fresh(ctx: Ctx, label: str) -> AsyncIterator[tuple[Database, Topics]]:
    """A migrated database and new topics for one scenario, removed afterwards."""
    db = await create_database(ctx.stack, label)
    topics = await create_topics(ctx.stack, label)
    try:
        yield db, topics
    finally:
        with contextlib.suppress(Exception):
            await delete_topics(ctx.stack, topics)
        await drop_database(ctx.stack, db)


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else 0.0


def now() -> float:
    return time.time()


async def partitions_of(stack: Stack, topic: str) -> list[int]:
    """The topic's partitions, as the broker describes them (a consumer's cached metadata may
    not know a topic yet)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for p in described["partitions"])
