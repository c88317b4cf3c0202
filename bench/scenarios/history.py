"""Scenario: the lot history and change stream beside the repeated snapshot.

Events: snapshot 1 (the bench file) and snapshot 2 (5% of the lots changed, 3% sold, every
row renumbered: ``bench.snapshots.write_realistic``), both published as full snapshots and
drained into a fresh database. The change topic must then hold one ``created`` per lot of
snapshot 1, and for snapshot 2 exactly one ``changed`` per changed lot and one ``removed`` per
sold lot, nothing for the rest (counted per kind and per lot; a wrong count fails the run).

A/B: the same with ``VINOPS_HISTORY=off`` in another fresh database. Snapshot 2 is then drained
three times per arm (once in quick runs), alternating on, off, off, on, on, off, each time into
a copy of the arm's database after snapshot 1 (its offsets are in it: the copy reads snapshot 2
again) and after a CHECKPOINT; the cost of history + outbox + relay is the median drain with
them over the median without them (target <= 10%). A drain with them ends at its last commit
or the relay's last position write, whichever is later (the relay's work counts). One pair
alone varied from 0.07 to 0.47 between runs of the same code.

Query: ``consumer history`` of one VIN among 10 million versions generated in SQL (fewer at
smaller sizes): the same query the CLI runs, timed warm, median and p95 (target < 50 ms).
"""

from __future__ import annotations

import collections
import contextlib
import statistics
import time
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.procs import spawn, tail
from bench.scenarios.common import (
    Ctx,
    Result,
    consumer_cmd,
    first_assignment_time,
    fresh,
    last_commit_time,
    logged_at,
    now,
    partitions_of,
    publish_cmd,
    rate,
)
from bench.snapshots import RealSnapshot, distinct_lots, write_realistic
from bench.stack import Database, Stack, Topics, drop_database
from consumer.admin.history import history_of
from consumer.store.history_sql import HISTORY_FIELDS
from devstack.dsn import dsn_for

SOLD_SHARE = 0.03
FULL_VERSIONS = 10_000_000
_QUERIES = 30


def _snapshot2(base: Path) -> RealSnapshot:
    """Snapshot 2 of this scenario (cached next to the base): 5% changed, 3% sold."""
    out = base.with_name(f"{base.stem}-hist{base.suffix}")
    meta = out.with_name(out.name + ".json")
    if out.exists() and meta.exists():
        return RealSnapshot(out, **orjson.loads(meta.read_bytes()))
    return write_realistic(base, out, "member", sold=SOLD_SHARE, listed=0.0)


async def _events(
    stack: Stack, topic: str, after: dict[int, int] | None = None
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The change topic's events past ``after`` (partition -> offset; None: from the
    beginning) up to its current end, and that end."""
    tps = [TopicPartition(topic, p) for p in await partitions_of(stack, topic)]
    if not tps:
        return [], {}
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        for tp in tps:
            if after and after.get(tp.partition):
                consumer.seek(tp, after[tp.partition])
        ends = await consumer.end_offsets(tps)
        out: list[dict[str, Any]] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                out.extend(orjson.loads(r.value) for r in batch)
        return out, {tp.partition: ends[tp] for tp in tps}
    finally:
        await consumer.stop()


async def _relay_end(db: Database) -> float | None:
    conn = await asyncpg.connect(db.admin_dsn)
    try:
        at = await conn.fetchval("SELECT max(updated_at) FROM ingest.relay_positions")
        return None if at is None else float(at.timestamp())
    finally:
        await conn.close()


async def _publish(ctx: Ctx, topics: Topics, path: Path, *, label: str) -> bool:
    pub = await spawn(f"{label}-producer", [*publish_cmd(topics, path), "--full-snapshot"],
                      ctx.stack.env())  # fmt: skip
    if await pub.wait(1800) != 0:
        ctx.fail(f"{label}: producer exit {pub.returncode}: {tail(pub.stderr)}")
        return False
    return True


async def _consume(
    ctx: Ctx, db: Database, topics: Topics, *, label: str, history: bool, changes_topic: str,
) -> Result:  # fmt: skip
    env = ctx.stack.env(VINOPS_PG_DSN=db.etl_dsn, VINOPS_HISTORY="on" if history else "off",
                        VINOPS_CHANGES_TOPIC=changes_topic)  # fmt: skip
    proc = await spawn(f"{label}-consumer", consumer_cmd(topics, f"bench-{label[:-2]}"), env)
    if await proc.wait(1800) != 0:
        ctx.fail(f"{label}: consumer exit {proc.returncode}: {tail(proc.stderr)}")
    log = proc.stderr + proc.stdout
    start, end = first_assignment_time(log), last_commit_time(log)
    if history and (relayed := await _relay_end(db)) is not None and end is not None:
        end = max(end, relayed)
    seconds = (end or now()) - (start or now())
    # The batches' own time (prepare + write + commit), free of start-up and fetch noise.
    in_batches = sum(float(r.get("seconds") or 0) for _, r in logged_at(log, "batch committed"))
    return {"seconds": round(seconds, 3), "batch_seconds": round(in_batches, 3),
            "consumer_peak_rss_mb": round(proc.peak_rss_mb, 1)}  # fmt: skip


async def _drain(
    ctx: Ctx, db: Database, topics: Topics, path: Path, *, label: str, history: bool,
    changes_topic: str,
) -> Result:  # fmt: skip
    if not await _publish(ctx, topics, path, label=label):
        return {"error": "publish failed"}
    return await _consume(ctx, db, topics, label=label, history=history,
                          changes_topic=changes_topic)  # fmt: skip


async def _checkpoint(ctx: Ctx) -> None:
    """Each drain starts with no dirty buffers of the one before (a checkpoint inside one arm's
    drain and not the other's was the largest noise of a single pair)."""
    conn = await asyncpg.connect(ctx.stack.superuser_dsn or ctx.stack.admin_dsn)
    try:
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def _copy(ctx: Ctx, db: Database, label: str) -> Database:
    """A copy of ``db`` (its data, offsets and relay position): snapshot 2 drained again."""
    name = f"{db.name}_{label}"
    conn = await asyncpg.connect(ctx.stack.admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{db.name}" STRATEGY FILE_COPY')
        await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO etl_rw')
    finally:
        await conn.close()
    return Database(name, dsn_for(ctx.stack.admin_dsn, name), dsn_for(ctx.stack.pg_dsn, name))


def _per_kind(events: list[dict[str, Any]]) -> dict[str, int]:
    return dict(collections.Counter(e["kind"] for e in events))


def _order(quick: bool) -> list[bool]:
    """Snapshot-2 drains, history on (True) and off, alternated so that neither arm always
    goes first; the cost is the ratio of the medians."""
    return [True, False] if quick else [True, False, False, True, True, False]


async def _arms(ctx: Ctx, snap2: RealSnapshot) -> Result:
    """Both arms drain snapshot 1 once; snapshot 2 is then drained several times, each time
    into a copy of the arm's snapshot-1 database (offsets live in it: the copy reads snapshot
    2 again). The first history-on drain's events are the ones checked."""
    async with fresh(ctx, "hist-on") as (db_on, t_on), fresh(ctx, "hist-off") as (db_off, t_off):
        arms = {True: (db_on, t_on, "hist-on"), False: (db_off, t_off, "hist-off")}
        changes = {h: f"{t.rows}.changes" for h, (_, t, _) in arms.items()}
        out: Result = {"s1": {}, "s2_runs": {"on": [], "off": []}}
        copies: list[Database] = []
        try:
            for h, (db, topics, label) in arms.items():
                out["s1"][label] = await _drain(ctx, db, topics, ctx.file, label=f"{label}-1",
                                                history=h, changes_topic=changes[h])  # fmt: skip
                await _publish(ctx, topics, snap2.path, label=f"{label}-2")
            first, ends = await _events(ctx.stack, changes[True])
            templates = {}
            for h, (db, _, _) in arms.items():
                templates[h] = await _copy(ctx, db, "s1")
                copies.append(templates[h])
            events: list[dict[str, Any]] = []
            checked = False
            for i, h in enumerate(_order(ctx.quick)):
                db, topics, label = arms[h]
                target = await _copy(ctx, templates[h], f"r{i}")
                copies.append(target)
                await _checkpoint(ctx)
                run = await _consume(ctx, target, topics, label=f"{label}-2", history=h,
                                     changes_topic=changes[h])  # fmt: skip
                out["s2_runs"]["on" if h else "off"].append(run)
                if h and not checked:
                    events, checked = (await _events(ctx.stack, changes[True], ends))[0], True
                with contextlib.suppress(Exception):
                    await drop_database(ctx.stack, target)
        finally:
            for copy in copies:
                with contextlib.suppress(Exception):
                    await drop_database(ctx.stack, copy)
            for topic in changes.values():
                await _delete_topic(ctx.stack, topic)
    out.update(s1_events=_per_kind(first), s2_events=_per_kind(events),
               s2_event_lots=len({e["lot"] for e in events}),
               s2_events_total=len(events))  # fmt: skip
    return out


async def _delete_topic(stack: Stack, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        if topic in await admin.list_topics():
            await admin.delete_topics([topic])
    finally:
        await admin.close()


# One VIN per two lots, ten versions per lot, each version changing the bid and the status:
# the history's shape at scale, written in SQL (no ingest needed to measure the read).
_SET = {
    "vin": "'WVW' || lpad((i / 20)::text, 14, '0')",
    "status": "'S' || (i % 7)",
    "high_bid": "((i % 10) * 25)::text",
    "make": "'FORD'",
}
_DATA = "ARRAY[" + ", ".join(_SET.get(f, "NULL") for f in HISTORY_FIELDS) + "]::text[]"
# An older version holds only what its successor changed (0027): the status and the bid.
_THIN = (
    "ARRAY["
    + ", ".join(_SET[f] if f in ("status", "high_bid") else "NULL" for f in HISTORY_FIELDS)
    + "]::text[]"
)
_GENERATE = f"""
INSERT INTO public.lot_versions (lot_external_id, valid_from, version, valid_to, vin, changed,
                                 data)
SELECT 'L' || (i / 10), timestamptz '2020-01-01' + make_interval(hours => (i % 10)::int),
       decode(lpad(to_hex(i), 32, '0'), 'hex'),
       CASE WHEN i % 10 < 9
            THEN timestamptz '2020-01-01' + make_interval(hours => (i % 10 + 1)::int) END,
       {_SET["vin"]}, CASE WHEN i % 10 > 0 THEN ARRAY['status', 'high_bid'] END,
       CASE WHEN i % 10 < 9 THEN {_THIN} ELSE {_DATA} END
FROM generate_series($1::bigint, $2::bigint) AS i
"""


async def _history_query(ctx: Ctx, versions: int) -> Result:
    async with fresh(ctx, "hist-query") as (db, _):
        conn = await asyncpg.connect(db.admin_dsn)
        try:
            started = time.monotonic()
            step = 1_000_000
            for lo in range(0, versions, step):
                await conn.execute(_GENERATE, lo, min(lo + step, versions) - 1)
            await conn.execute("VACUUM ANALYZE public.lot_versions")
            generated_s = time.monotonic() - started
            vin = f"WVW{(versions // 40):014d}"  # a VIN in the middle of the table
            await history_of(conn, vin)  # warm
            times = []
            for _ in range(_QUERIES):
                t0 = time.perf_counter()
                lots = await history_of(conn, vin)
                times.append((time.perf_counter() - t0) * 1000)
        finally:
            await conn.close()
    found = sum(len(lot.versions) for lot in lots)
    if found != 20:
        ctx.fail(f"history query: {found} versions of {vin}, expected 20 (2 lots x 10)")
    return {"versions": versions, "generated_s": round(generated_s, 1), "vin_versions": found,
            "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(sorted(times)[int(len(times) * 0.95) - 1], 2)}  # fmt: skip


def _check_events(ctx: Ctx, on: Result, snap2: RealSnapshot, lots_s1: int) -> None:
    # A lot listed twice with two versions: created, and changed when they meet in two batches.
    if on["s1_events"].get("created") != lots_s1 or set(on["s1_events"]) - {"created", "changed"}:
        ctx.fail(f"history: snapshot 1 events {on['s1_events']}, expected {lots_s1} created")
    want = {"changed": snap2.changed_lots, "removed": snap2.sold_lots}
    if on["s2_events"] != want:
        ctx.fail(f"history: snapshot 2 events {on['s2_events']}, expected {want}")
    if on["s2_event_lots"] != on["s2_events_total"]:
        ctx.fail(f"history: {on['s2_events_total']} events for {on['s2_event_lots']} lots")


def _median(runs: list[Result], key: str) -> float | None:
    values = [float(r[key]) for r in runs if r.get(key)]
    return round(statistics.median(values), 3) if values else None


async def run(ctx: Ctx) -> Result:
    snap2 = _snapshot2(ctx.file)
    lots_s1 = len(distinct_lots(ctx.file))
    arms = await _arms(ctx, snap2)
    _check_events(ctx, arms, snap2, lots_s1)
    rows = snap2.rows
    on_runs, off_runs = arms["s2_runs"]["on"], arms["s2_runs"]["off"]
    on_s, off_s = _median(on_runs, "seconds"), _median(off_runs, "seconds")
    cost = round(on_s / off_s - 1, 3) if on_s and off_s else None
    on_b, off_b = _median(on_runs, "batch_seconds"), _median(off_runs, "batch_seconds")
    batch_cost = round(on_b / off_b - 1, 3) if on_b and off_b else None
    versions = FULL_VERSIONS if ctx.sizes.rows >= 200_000 else ctx.sizes.rows * 10
    query = await _history_query(ctx, versions)
    print(f"    snapshot 2 drain (median of {len(on_runs)}): history on {on_s}s, off {off_s}s "
          f"(cost {cost}; in the batches {on_b}s against {off_b}s, {batch_cost}); runs on "
          f"{[r.get('seconds') for r in on_runs]}, off {[r.get('seconds') for r in off_runs]}; "
          f"events {arms['s2_events']}; history of one VIN at {versions:,} versions: "
          f"{query['median_ms']} ms median", flush=True)  # fmt: skip
    return {
        "changed_lots": snap2.changed_lots, "sold_lots": snap2.sold_lots,
        "s1": arms["s1"], "s2_runs": arms["s2_runs"], "s1_events": arms["s1_events"],
        "s2_events": arms["s2_events"], "s2_rows": rows, "s2_seconds_on": on_s,
        "s2_seconds_off": off_s, "s2_rows_per_s_on": round(rate(rows, on_s or 0), 1),
        "s2_rows_per_s_off": round(rate(rows, off_s or 0), 1),
        "history_cost": cost, "history_batch_cost": batch_cost, "query": query,
    }  # fmt: skip
