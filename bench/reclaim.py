"""Restart-to-first-commit: SIGKILL a consumer mid-drain, start it again, time its first commit.

    python -m bench.reclaim [--runs 3] [--rows 150000] [--env NAME=VALUE ...]

One consumer drains a generated file; each run waits for a commit, kills it with SIGKILL a
moment later, starts it again at once (same settings, so the same group instance id) and
measures the time from that start to its first "batch committed" log line. A dead member
that is not reclaimed holds its partitions until its session expires; a static member
(group_instance_id) restarted under the same id gets them back at once. Pass
``--env VINOPS_GROUP_INSTANCE_ID=none`` for the dynamic-membership figure.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

from bench import procs
from bench.scenarios.common import consumer_cmd, logged_at, publish_cmd
from bench.stack import (
    ROOT,
    Database,
    Stack,
    Topics,
    create_database,
    create_topics,
    delete_topics,
    drop_database,
    load_stack,
)

_CACHE = ROOT / "bench" / "out"


def _assigned_at(proc: procs.Proc) -> float:
    """When the restarted consumer got partitions (aiokafka first reports an empty set)."""
    for at, record in logged_at(proc.stderr, "partitions assigned"):
        if record.get("partitions"):
            return at
    return float("nan")


async def _first_commit(proc: procs.Proc, limit_s: float) -> float:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if commits := logged_at(proc.stderr, "batch committed"):
            return commits[0][0]
        if proc.process.returncode is not None:
            code = proc.process.returncode
            raise RuntimeError(f"consumer exited {code}: {procs.tail(proc.stderr)}")
        await asyncio.sleep(0.05)
    raise RuntimeError("no commit in time: the file ran out or the consumer is stuck")


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--rows", type=int, default=150_000)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    stack = load_stack()
    db = await create_database(stack, "reclaim")
    topics = await create_topics(stack, "reclaim")
    try:
        return await _measure(args, rng, stack, db, topics)
    finally:
        await drop_database(stack, db)
        await delete_topics(stack, topics)


async def _measure(
    args: argparse.Namespace, rng: random.Random, stack: Stack, db: Database, topics: Topics
) -> int:
    feed = _CACHE / f"reclaim-{args.rows}.csv"
    if not feed.exists():
        _CACHE.mkdir(parents=True, exist_ok=True)
        gen: list[str | Path] = [sys.executable, "-m", "bench.generate", "--rows", str(args.rows)]
        gen += ["--out", feed]
        await (await procs.spawn("reclaim-generate", gen, stack.env())).wait(600)
    publish = publish_cmd(topics, feed)
    if await (await procs.spawn("reclaim-publish", publish, stack.env())).wait(600) != 0:
        raise RuntimeError("publish failed")
    env = stack.env(
        VINOPS_PG_DSN=db.etl_dsn, VINOPS_CONSUMER_NAME="reclaim",
        **dict(e.split("=", 1) for e in args.env),
    )  # fmt: skip
    cmd = consumer_cmd(topics, f"reclaim-{topics.rows}", idle=None)
    proc = await procs.spawn("reclaim-0", cmd, env)
    await _first_commit(proc, 120)
    seconds: list[float] = []
    assigned: list[float] = []
    for run in range(1, args.runs + 1):
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        proc.process.kill()
        await proc.wait()
        proc = await procs.spawn(f"reclaim-{run}", cmd, env)
        seconds.append(await _first_commit(proc, 300) - proc.started)
        assigned.append(_assigned_at(proc) - proc.started)
        print(
            f"run {run}: restart to partitions assigned {assigned[-1]:.2f} s, "
            f"to first commit {seconds[-1]:.2f} s",
            flush=True,
        )
    await proc.stop()
    for what, values in (("partitions assigned", assigned), ("first commit", seconds)):
        print(
            f"restart to {what} over {len(values)} runs: median {statistics.median(values):.2f} s,"
            f" min {min(values):.2f} s, max {max(values):.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
