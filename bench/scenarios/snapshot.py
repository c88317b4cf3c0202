"""Scenario: the real workload, repeated full snapshots of the feed into one database.

Snapshot 1 is the bench file; snapshot 2 is snapshot 1 with 5% of the lots changed,
snapshot 3 is snapshot 2 with another 5% changed (``bench.snapshots``). Each is published
whole (not timed), then one consumer drains it: timed from its first partition assignment
to its last commit. Around each drain: the database's size after a CHECKPOINT, and the raw
layer's bytes (every table of schema raw), so growth per snapshot and bytes per row show
what a repeated snapshot costs.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from bench.procs import Proc, spawn, tail
from bench.scenarios.common import (
    Ctx,
    Result,
    check_counts,
    consumer_cmd,
    database_bytes,
    db_counts,
    first_assignment_time,
    fresh,
    last_commit_time,
    now,
    publish_cmd,
    rate,
    raw_layer_bytes,
)
from bench.snapshots import snapshot
from bench.stack import Database, Topics

SNAPSHOTS = 3
_RESTARTS = 2


async def _raw_bytes(db: Database) -> int:
    conn = await asyncpg.connect(db.admin_dsn)
    try:
        return await raw_layer_bytes(conn)
    finally:
        await conn.close()


async def _drain(ctx: Ctx, db: Database, topics: Topics, k: int, published: int) -> Result:
    env = ctx.stack.env(VINOPS_PG_DSN=db.etl_dsn)
    size_before, raw_before = await database_bytes(ctx.stack, db), await _raw_bytes(db)
    procs: list[Proc] = []
    counts: dict[str, Any] = {}
    for attempt in range(_RESTARTS + 1):
        procs.append(await spawn(f"snapshot{k}-consumer{attempt + 1}",
                                 consumer_cmd(topics, "bench-snapshot"), env))  # fmt: skip
        if await procs[-1].wait(1800) != 0:
            ctx.fail(
                f"snapshot {k}: consumer exit {procs[-1].returncode}: {tail(procs[-1].stderr)}"
            )
            break
        counts = await db_counts(db)
        if counts.get("raw_rows") == published:
            break
    logs = [p.stderr + p.stdout for p in procs]
    starts = [t for text in logs if (t := first_assignment_time(text)) is not None]
    ends = [t for text in logs if (t := last_commit_time(text)) is not None]
    seconds = (max(ends) if ends else now()) - (min(starts) if starts else now())
    size_after, raw_after = await database_bytes(ctx.stack, db), await _raw_bytes(db)
    rows = ctx.expected.rows
    check_counts(ctx, f"snapshot {k}", counts, ctx.expected, published=published)
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rate(rows, seconds), 1),
        "db_bytes_before": size_before,
        "db_bytes_after": size_after,
        "growth_bytes": size_after - size_before,
        "raw_layer_bytes": raw_after,
        "raw_growth_bytes": raw_after - raw_before,
        "raw_bytes_per_row": round((raw_after - raw_before) / rows, 1) if rows else None,
        "consumer_peak_rss_mb": round(max(p.peak_rss_mb for p in procs), 1),
        "consumer_starts": len(procs),
        "raw_rows": counts.get("raw_rows"),
        "lots": counts.get("lots"),
    }


async def run(ctx: Ctx) -> Result:
    out: Result = {"snapshots": SNAPSHOTS}
    async with fresh(ctx, "snapshot") as (db, topics):
        published = 0
        for k in range(1, SNAPSHOTS + 1):
            snap = snapshot(ctx.file, k)
            pub = await spawn(f"snapshot{k}-producer", publish_cmd(topics, snap.path),
                              ctx.stack.env())  # fmt: skip
            if await pub.wait(1800) != 0:
                ctx.fail(f"snapshot {k}: producer exit {pub.returncode}: {tail(pub.stderr)}")
                return {**out, "error": f"publish of snapshot {k} failed"}
            published += ctx.expected.rows
            result = await _drain(ctx, db, topics, k, published)
            out[f"s{k}"] = {**result, "changed_lots": snap.changed_lots,
                            "changed_rows": snap.changed_rows}  # fmt: skip
            print(f"    snapshot {k}: {result['rows_per_s']:,.0f} rows/s, "
                  f"+{result['growth_bytes'] / 2**20:,.1f} MB", flush=True)  # fmt: skip
    return out
