"""Scenarios 2 and 3: the SQL floor and the naive per-message consumer."""

from __future__ import annotations

from bench.naive_consumer import run_naive
from bench.procs import spawn, tail
from bench.scenarios.common import Ctx, Result, check_counts, db_counts, fresh, publish_cmd
from bench.sql_floor import run_floor


async def floor(ctx: Ctx) -> Result:
    async with fresh(ctx, "floor") as (db, _):
        result = await run_floor(db, ctx.file)
        counts = await db_counts(db)
        check_counts(ctx, "floor", counts, ctx.expected)
        return {**result, "raw_rows": counts.get("raw_rows"), "lots": counts.get("lots")}


async def naive(ctx: Ctx) -> Result:
    async with fresh(ctx, "naive") as (db, topics):
        pub = await spawn("naive-producer", publish_cmd(topics, ctx.file), ctx.stack.env())
        if await pub.wait(1800) != 0:
            ctx.fail(f"naive: producer exit {pub.returncode}: {tail(pub.stderr)}")
            return {"error": "publish failed"}
        result = await run_naive(
            ctx.stack.bootstrap, topics.rows, db.etl_dsn, ctx.sizes.naive_seconds,
            limit=ctx.expected.rows,
        )  # fmt: skip
        rate = float(result["rows_per_s"])
        result["extrapolated_seconds_for_file"] = (
            round(ctx.expected.rows / rate, 1) if rate else None
        )
        return result
