"""Scenario: the peer a user would otherwise run, on the same Kafka and PostgreSQL.

Kafka Connect standalone with Debezium's JDBC sink (``bench.peer``) upserting the file's
rows, typed, into one table (``peer_lots``), from a 6-partition topic filled beforehand.
Timed from the sink task's start until the file's end markers are in the table. Then the
same for snapshot 2 (the worker restarted on the same table, snapshot 2 on a topic of its
own): the peer upserts every row of it. vinops' figure is scenario e2e's
(publish and consume the same file, every passport table written), run here when absent.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from dataclasses import replace

import asyncpg

from bench.peer.connect import Peer
from bench.peer.ingest import ingest, lots_in
from bench.peer.jars import PeerUnavailableError, peer_jars
from bench.peer.messages import publish
from bench.scenarios import e2e
from bench.scenarios.common import Ctx, Result, database_bytes, fresh
from bench.snapshots import snapshot
from bench.stack import ROOT, Database, create_topics, delete_topics

TABLE = "peer_lots"


async def _table_bytes(db: Database) -> int:
    conn = await asyncpg.connect(db.admin_dsn)
    try:
        return int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", TABLE))
    finally:
        await conn.close()


async def _one(ctx: Ctx, peer: Peer, db: Database, k: int) -> Result:
    path = snapshot(ctx.file, k).path
    sent = await publish(ctx.stack.bootstrap, peer.topic, path)
    before = await database_bytes(ctx.stack, db)
    result = await ingest(peer, f"peer-connect-s{k}", sent["file_id"], partitions=sent["markers"],
                          rows=sent["messages"])  # fmt: skip
    after = await database_bytes(ctx.stack, db)
    lots = await lots_in(db.admin_dsn, TABLE)
    if lots != len(ctx.expected.lots):
        ctx.fail(f"peer snapshot {k}: {TABLE} {lots} != distinct good lots "
                 f"{len(ctx.expected.lots)}")  # fmt: skip
    if result["errors_logged"]:
        ctx.fail(f"peer snapshot {k}: Kafka Connect logged {result['errors_logged']} errors")
    table_bytes = await _table_bytes(db)
    return {**result, "lots": lots, "growth_bytes": after - before, "table_bytes": table_bytes,
            "table_bytes_per_lot": round(table_bytes / lots, 1) if lots else None}  # fmt: skip


async def _both(ctx: Ctx, peer: Peer, db: Database) -> tuple[Result, Result]:
    first = await _one(ctx, peer, db, 1)
    # Snapshot 2 on a topic of its own: the restarted sink reads it from the start,
    # whether or not its offsets on the first topic were committed when it stopped.
    topics2 = await create_topics(ctx.stack, "peer2")
    try:
        second = await _one(ctx, replace(peer, topic=topics2.rows), db, 2)
    finally:
        with contextlib.suppress(Exception):
            await delete_topics(ctx.stack, topics2)
    return first, second


async def run(ctx: Ctx) -> Result:
    try:
        jars = await asyncio.to_thread(peer_jars)  # mvn, first run only
    except PeerUnavailableError as exc:
        if ctx.quick:
            print(f"    peer skipped: {exc}", flush=True)
            return {"skipped": str(exc)}
        raise
    vinops = ctx.results.get("e2e") or await e2e.run(ctx)
    async with fresh(ctx, "peer") as (db, topics):
        peer = Peer(jars, ctx.stack.bootstrap, db.admin_dsn, topics.rows, TABLE,
                    ROOT / "bench" / "out" / "peer" / db.name)  # fmt: skip
        try:
            first, second = await _both(ctx, peer, db)
        finally:
            # The worker's files hold the database password: gone with the database.
            shutil.rmtree(peer.state, ignore_errors=True)
    ratio = vinops.get("rows_per_s", 0) / first["rows_per_s"] if first["rows_per_s"] else None
    return {
        **first,
        "versions": {"kafka_connect": jars.kafka_version, "debezium_jdbc": jars.debezium_version},
        "snapshot2": second,
        "jvm_peak_rss_mb": max(first["jvm_peak_rss_mb"], second["jvm_peak_rss_mb"]),
        "vinops_e2e_rows_per_s": vinops.get("rows_per_s"),
        "vinops_over_peer": round(ratio, 3) if ratio is not None else None,
    }
