"""Micro-benchmark of the consumer's data path: ``prepare()`` and ``Sink.write()`` apart.

    .venv/bin/python -m bench.profile_sink [--rows 20000] [--files 2] [--batch 5000]
        [--cprofile N] [--keep]

Generates (cached) ``--files`` member-layout files of ``--rows`` rows each (file k re-lists
a fifth of file k-1's lots with newer versions, so file 1 exercises the update path),
turns them into exactly the producer's messages (``bench.sql_floor.messages``, not timed),
then, in a NEW migrated database, runs ``prepare()`` and ``Sink.write()`` batch by batch
and prints rows/s of each per file, and PostgreSQL's own time per statement
(pg_stat_statements, reset before each file; needs VINOPS_PG_SUPERUSER_DSN).
``--cprofile N`` prints the N most expensive functions of ``prepare()`` (cumulative).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import gc
import itertools
import os
import pstats
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from bench.generate import Spec, generate
from bench.sql_floor import FILES_TOPIC, ROW_TOPIC, messages
from bench.stack import Stack, create_database, drop_database, load_stack
from consumer.intake.records import Inbound
from consumer.prepare.prepare import prepare_records
from consumer.store.sink import Sink
from devstack.dsn import dsn_for

_STATEMENTS = """
SELECT s.calls, round(s.total_exec_time::numeric, 1) AS ms, s.rows,
       round(s.wal_bytes / 1048576.0, 1) AS wal_mb, s.wal_fpi,
       regexp_replace(left(s.query, 70), '\\s+', ' ', 'g') AS query
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = $1 ORDER BY s.total_exec_time DESC LIMIT 12
"""


def _chunks(rows: int, index: int, size: int) -> Iterator[list[Inbound]]:
    """File ``index`` as the consumer would fetch it, ``size`` messages at a time (lazily,
    like the SQL floor: only one batch is alive at a time, as in the consumer)."""
    spec = Spec(rows=rows, file_index=index)
    path = spec.default_path()
    if not path.exists():
        generate(spec, path)
    # Offsets are per (topic, partition): file k's continue after file k-1's.
    shift = index * (rows + 10)
    source = (dataclasses.replace(m, offset=m.offset + shift) for m in messages(path))
    while chunk := list(itertools.islice(source, size)):
        yield chunk


async def _stats(stack: Stack, db_name: str, *, reset: bool) -> list[asyncpg.Record]:
    if stack.superuser_dsn is None:
        return []
    conn = await asyncpg.connect(dsn_for(stack.superuser_dsn, db_name))
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        if reset:
            await conn.execute("SELECT pg_stat_statements_reset()")
            return []
        return list(await conn.fetch(_STATEMENTS, db_name))
    finally:
        await conn.close()


def _backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a PostgreSQL backend on this machine: unlike wall time,
    barely moved by other jobs sharing the cores."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _explain(conn: Any) -> None:  # a pool connection proxy
    """Plans of every statement that takes more than 20 ms, sent to the client as LOG notices."""
    await conn.execute(
        "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 20; "
        "SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on; "
        "SET auto_explain.log_triggers = on; "
        "SET auto_explain.log_nested_statements = on; SET client_min_messages = log"
    )
    conn.add_log_listener(lambda _c, msg: print(msg.message))


async def main_async(args: argparse.Namespace) -> int:
    if args.gc_threshold:
        # What a service could do at start: fewer, larger young collections, and startup
        # objects moved out of every full collection.
        gc.freeze()
        gc.set_threshold(args.gc_threshold, 10, 10)
    stack = load_stack()
    db = await create_database(stack, "profile")
    pool = await asyncpg.create_pool(
        dsn_for(stack.superuser_dsn, db.name) if args.explain and stack.superuser_dsn
        else db.etl_dsn,
        min_size=1, max_size=1, setup=_explain if args.explain else None,
    )  # fmt: skip
    sink = Sink(pool, group_id="bench-profile", consumer_name="bench-profile")
    try:
        async with pool.acquire() as conn:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
        for index in range(args.files):
            await _stats(stack, db.name, reset=True)
            profiler = cProfile.Profile() if args.cprofile else None
            rows = batches = 0
            prep_s = write_s = prep_cpu = write_cpu = 0.0
            server_cpu = -_backend_cpu(backend)
            for chunk in _chunks(args.rows, index, args.batch):
                t0, c0 = time.perf_counter(), time.process_time()
                if profiler is not None:
                    profiler.enable()
                batch = prepare_records(chunk, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC)
                if profiler is not None:
                    profiler.disable()
                t1, c1 = time.perf_counter(), time.process_time()
                await sink.write(batch)
                write_s += time.perf_counter() - t1
                write_cpu += time.process_time() - c1
                prep_s += t1 - t0
                prep_cpu += c1 - c0
                rows += sum(m.topic == ROW_TOPIC for m in chunk)
                batches += 1
            server_cpu += _backend_cpu(backend)
            if profiler is not None:
                stats = pstats.Stats(profiler, stream=sys.stdout)
                stats.sort_stats("tottime").print_stats(args.cprofile)
            print(
                f"file {index}: {rows} rows in {batches} batches | "
                f"prepare {prep_s:.2f} s = {rows / prep_s:,.0f} rows/s | "
                f"Sink.write {write_s:.2f} s = {rows / write_s:,.0f} rows/s | "
                f"both {rows / (prep_s + write_s):,.0f} rows/s\n"
                f"  CPU: prepare {prep_cpu:.2f} s = {rows / prep_cpu:,.0f} rows/s | write: client "
                f"{write_cpu:.2f} s + server {server_cpu:.2f} s = "
                f"{rows / (write_cpu + server_cpu):,.0f} rows/s"
            )
            for r in await _stats(stack, db.name, reset=False):
                print(
                    f"  {r['ms']:>9} ms {r['calls']:>4} calls {r['rows']:>7} rows "
                    f"{r['wal_mb']:>6} MB WAL {r['wal_fpi']:>6} FPI  {r['query']}"
                )
    finally:
        await pool.close()
        if args.keep:
            print(f"kept database {db.name}")
        else:
            await drop_database(stack, db)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_sink", description=__doc__)
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--files", type=int, default=2)
    p.add_argument("--batch", type=int, default=5_000)
    p.add_argument("--cprofile", type=int, default=0, metavar="N")
    p.add_argument("--explain", action="store_true", help="auto_explain (superuser) plans")
    p.add_argument(
        "--gc-threshold",
        type=int,
        default=0,
        metavar="N",
        help="gc.freeze() + gc.set_threshold(N, 10, 10) first (default: Python's)",
    )
    p.add_argument("--keep", action="store_true")
    return asyncio.run(main_async(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
