"""Scenario 7, scale: one consumer, then two in one group, draining the same backlog of
the file on 6 partitions into a fresh database each; from start to last commit."""

from __future__ import annotations

import contextlib

import orjson

from bench.procs import Proc, spawn, tail
from bench.scenarios.common import (
    Ctx,
    Result,
    check_counts,
    consumer_cmd,
    db_counts,
    last_commit_time,
    now,
    publish_cmd,
    rate,
)
from bench.stack import Topics, create_database, create_topics, delete_topics, drop_database


def committed_messages(log_text: str) -> int:
    total = 0
    for line in log_text.splitlines():
        if '"batch committed"' in line:
            with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                total += int(orjson.loads(line)["messages"])
    return total


async def _drain(ctx: Ctx, topics: Topics, n: int) -> Result:
    db = await create_database(ctx.stack, f"scale{n}")
    try:
        env = ctx.stack.env(VINOPS_PG_DSN=db.etl_dsn)
        started = now()
        procs: list[Proc] = [
            await spawn(f"scale{n}-consumer{i + 1}", consumer_cmd(topics, f"bench-scale{n}"), env)
            for i in range(n)
        ]
        for p in procs:
            if await p.wait(1800) != 0:
                ctx.fail(f"scale x{n}: consumer exit {p.returncode}: {tail(p.stderr)}")
        counts = await db_counts(db)
        check_counts(ctx, f"scale x{n}", counts, ctx.expected)
        ends = [t for p in procs if (t := last_commit_time(p.stderr + p.stdout)) is not None]
        seconds = (max(ends) if ends else now()) - started
        return {
            "consumers": n,
            "seconds": round(seconds, 3),
            "rows_per_s": round(rate(ctx.expected.rows, seconds), 1),
            "per_consumer_messages": [committed_messages(p.stderr + p.stdout) for p in procs],
            "peak_rss_mb": [round(p.peak_rss_mb, 1) for p in procs],
        }
    finally:
        await drop_database(ctx.stack, db)


async def run(ctx: Ctx) -> Result:
    topics = await create_topics(ctx.stack, "scale")
    try:
        pub = await spawn("scale-producer", publish_cmd(topics, ctx.file), ctx.stack.env())
        if await pub.wait(1800) != 0:
            ctx.fail(f"scale: producer exit {pub.returncode}: {tail(pub.stderr)}")
            return {"error": "publish failed"}
        one = await _drain(ctx, topics, 1)
        two = await _drain(ctx, topics, 2)
    finally:
        await delete_topics(ctx.stack, topics)
    return {
        "rows": ctx.expected.rows,
        "one": one,
        "two": two,
        "speedup": round(two["rows_per_s"] / one["rows_per_s"], 3) if one["rows_per_s"] else None,
    }
