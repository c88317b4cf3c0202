"""Scenario 1, end to end: `producer publish` and `consumer run` at once, from the first
byte read to the last batch committed in PostgreSQL (the consumer's own log time)."""

from __future__ import annotations

from bench.procs import spawn, tail
from bench.scenarios.common import (
    Ctx,
    Result,
    check_counts,
    consumer_cmd,
    db_counts,
    fresh,
    last_commit_time,
    now,
    publish_cmd,
    rate,
)

_RESTARTS = 3  # a consumer that left too early (idle before the first row) is started again


async def run(ctx: Ctx) -> Result:
    async with fresh(ctx, "e2e") as (db, topics):
        env = ctx.stack.env(VINOPS_PG_DSN=db.etl_dsn)
        started = now()
        pub = await spawn("e2e-producer", publish_cmd(topics, ctx.file), env)
        consumers = [await spawn("e2e-consumer", consumer_cmd(topics, "bench-e2e"), env)]
        if await pub.wait(1800) != 0:
            ctx.fail(f"e2e: producer exit {pub.returncode}: {tail(pub.stderr)}")
        counts: dict[str, object] = {}
        for attempt in range(_RESTARTS + 1):
            code = await consumers[-1].wait(1800)
            if code != 0:
                ctx.fail(f"e2e: consumer exit {code}: {tail(consumers[-1].stderr)}")
                break
            counts = await db_counts(db)
            if counts.get("raw_rows") == ctx.expected.rows or attempt == _RESTARTS:
                break
            name = f"e2e-consumer-{attempt + 2}"
            consumers.append(await spawn(name, consumer_cmd(topics, "bench-e2e"), env))
        ended = max(
            (t for c in consumers if (t := last_commit_time(c.stderr + c.stdout)) is not None),
            default=float(counts.get("last_offset_at") or now()),  # type: ignore[arg-type]
        )
        check_counts(ctx, "e2e", counts, ctx.expected)
        seconds = ended - started
        return {
            "rows": ctx.expected.rows,
            "seconds": round(seconds, 3),
            "rows_per_s": round(rate(ctx.expected.rows, seconds), 1),
            "publish_seconds": round(pub.seconds, 3),
            "publish_rows_per_s": round(rate(ctx.expected.rows, pub.seconds), 1),
            "producer_peak_rss_mb": round(pub.peak_rss_mb, 1),
            "consumer_peak_rss_mb": round(max(c.peak_rss_mb for c in consumers), 1),
            "consumer_starts": len(consumers),
            "raw_rows": counts.get("raw_rows"),
            "lots": counts.get("lots"),
            "expected_lots": len(ctx.expected.lots),
        }
