"""Scenario: the repeated snapshot as the real feed makes it (``bench.snapshots.realistic``).

Between two downloads 2% of the lots are sold (rows gone), 2% listed (rows inserted at random
places) and 5% changed, and every row's observation cell changes: the member feed renumbers
its `Id` counter 1..N, a camelCase re-export writes the download's time into `_lastSeenAt`.
For each dialect: snapshot 1 drained into a fresh database, then the realistic snapshot 2,
each timed from the consumer's first assignment to its last commit, with the database's
growth, the consumer's own totals (lots inserted and updated, rows skipped as unchanged
content) and what the generator changed, so "updated" can be read against the changed lots.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.expect import expected
from bench.generate import Spec, generate
from bench.procs import spawn, tail
from bench.scenarios import bare_read
from bench.scenarios.common import (
    Ctx,
    Result,
    check_counts,
    consumer_cmd,
    database_bytes,
    db_counts,
    first_assignment_time,
    fresh,
    growth_by_table,
    last_commit_time,
    now,
    publish_cmd,
    rate,
    table_bytes,
)
from bench.snapshots import realistic
from bench.stack import VENV_BIN, Database, Topics

DIALECTS = ("member", "camel")


def totals_of(log_text: str) -> dict[str, Any]:
    """The consumer's exit totals (its last log line with ``totals``)."""
    for line in reversed(log_text.splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("totals"), dict):
            return dict(record["totals"])
    return {}


async def _publish_and_drain(
    ctx: Ctx, db: Database, topics: Topics, path: Path, *, label: str, published: int
) -> Result:
    pub = await spawn(f"{label}-producer", publish_cmd(topics, path), ctx.stack.env())
    if await pub.wait(1800) != 0:
        ctx.fail(f"{label}: producer exit {pub.returncode}: {tail(pub.stderr)}")
        return {"error": "publish failed"}
    before = await database_bytes(ctx.stack, db)
    tables_before = await table_bytes(ctx.stack, db)
    env = ctx.stack.env(VINOPS_PG_DSN=db.etl_dsn)
    # One group for both drains: the second starts where the first committed.
    group = f"bench-{label.rsplit('-', 1)[0]}"
    proc = await spawn(f"{label}-consumer", consumer_cmd(topics, group), env)
    if await proc.wait(1800) != 0:
        ctx.fail(f"{label}: consumer exit {proc.returncode}: {tail(proc.stderr)}")
    log = proc.stderr + proc.stdout
    start, end = first_assignment_time(log), last_commit_time(log)
    seconds = (end or now()) - (start or now())
    after = await database_bytes(ctx.stack, db)
    by_table = growth_by_table(tables_before, await table_bytes(ctx.stack, db))
    counts = await db_counts(db)
    totals = totals_of(log)
    rows = expected([path]).rows
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rate(rows, seconds), 1),
        "growth_bytes": after - before,
        "growth_by_table": by_table,
        "inserted": totals.get("inserted"),
        "updated": totals.get("updated"),
        "unchanged_content": totals.get("unchanged_content"),
        "digest_mismatches": totals.get("digest_mismatches"),
        "consumer_peak_rss_mb": round(proc.peak_rss_mb, 1),
        "raw_rows": counts.get("raw_rows"),
        "lots": counts.get("lots"),
        "published_so_far": published,
    }


async def _rebuild(ctx: Ctx, db: Database, label: str) -> Result:
    """`consumer rebuild --all` of both downloads (a consistent database: it reads, maps and
    compares every row, and writes nothing)."""
    env = ctx.stack.env(VINOPS_PG_DSN=db.etl_dsn)
    started = now()
    proc = await spawn(f"{label}-rebuild", [str(VENV_BIN / "consumer"), "rebuild", "--all"], env)
    if await proc.wait(1800) != 0:
        ctx.fail(f"{label}: rebuild exit {proc.returncode}: {tail(proc.stderr)}")
        return {"error": "rebuild failed"}
    seconds = now() - started
    said = proc.stderr.split("re-derived ", 1)
    rows = int(said[1].split(" ", 1)[0]) if len(said) == 2 else 0
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rate(rows, seconds), 1),
        "peak_rss_mb": round(proc.peak_rss_mb, 1),
    }


def _with_rest(bare: Result, s2_rate: float | None) -> Result:
    """The known-row profile completed: what the drain spent per row beyond reading the
    records, decoding them and preparing them (the write, the commit and the pipeline)."""
    profile = dict(bare["known_row_profile"])
    read_rate = bare["digest"]["rows_per_s"]
    if s2_rate and read_rate:
        s2_us, read_us = 1e6 / s2_rate, 1e6 / read_rate
        profile["snapshot2_us"] = round(s2_us, 2)
        profile["read_and_digest_us"] = round(read_us, 2)
        profile["write_commit_and_rest_us"] = round(
            s2_us - read_us - profile["decode_us"] - profile["prepare_known_us"], 2
        )
    return {**bare, "known_row_profile": profile}


def _base(ctx: Ctx, dialect: str) -> Path:
    if dialect == "member":
        return ctx.file
    spec = Spec(rows=ctx.sizes.rows, seed=7, dialect="camel")
    path = spec.default_path()
    if not path.exists():
        generate(spec, path)
    return path


async def run(ctx: Ctx) -> Result:
    out: Result = {}
    for dialect in DIALECTS:
        base = _base(ctx, dialect)
        real = realistic(base, dialect)
        async with fresh(ctx, f"real-{dialect}") as (db, topics):
            first_rows = expected([base]).rows
            s1 = await _publish_and_drain(
                ctx, db, topics, base, label=f"real-{dialect}-1", published=first_rows
            )
            s2_start = await bare_read.end_offsets(ctx.stack, topics.rows)
            s2 = await _publish_and_drain(
                ctx, db, topics, real.path, label=f"real-{dialect}-2",
                published=first_rows + real.rows,
            )  # fmt: skip
            # Sold lots stay (a partial file removes nothing): every lot of either download.
            check_counts(ctx, f"realistic {dialect}", s2, expected([base, real.path]),
                         published=first_rows + real.rows)  # fmt: skip
            rebuilt = await _rebuild(ctx, db, f"real-{dialect}") if dialect == "member" else None
            bare = (
                await bare_read.measure(ctx, topics.rows, topics.files, s2_start)
                if dialect == "member" else None
            )  # fmt: skip
        # A lot listed twice in the download has two new versions: one update, or two when
        # they fall in different batches. Anything outside that is a wrong count.
        updated = s2.get("updated")
        if updated is not None and not real.changed_lots <= updated <= real.changed_rows:
            ctx.fail(f"realistic {dialect}: {updated} lots updated, {real.changed_lots} "
                     f"changed ({real.changed_rows} changed rows)")  # fmt: skip
        s1_rate, s2_rate = s1.get("rows_per_s"), s2.get("rows_per_s")
        out[dialect] = {
            "s1": s1,
            "s2": {**s2, "sold_lots": real.sold_lots, "listed_lots": real.listed_lots,
                   "changed_lots": real.changed_lots, "changed_rows": real.changed_rows},
            "s2_over_s1": round(s2_rate / s1_rate, 3) if s1_rate and s2_rate else None,
            **({"rebuild": rebuilt} if rebuilt else {}),
            **({"bare_read": _with_rest(bare, s2_rate)} if bare else {}),
            "growth_s2_over_s1": (
                round(s2["growth_bytes"] / s1["growth_bytes"], 3)
                if s1.get("growth_bytes") and "growth_bytes" in s2 else None
            ),
        }  # fmt: skip
        print(f"    {dialect}: snapshot 1 {s1_rate:,.0f} rows/s, realistic snapshot 2 "
              f"{s2_rate:,.0f} rows/s, updated {s2.get('updated')} of "
              f"{real.changed_lots} changed lots", flush=True)  # fmt: skip
    return out
