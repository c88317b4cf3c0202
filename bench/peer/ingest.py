"""Time one peer ingest: from the sink task's start until every partition's end marker of
the file is in the table (so every row before it is written)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg

from bench.peer.connect import Peer, start, wait_task_started
from bench.peer.messages import END_PREFIX
from bench.procs import Proc

_FAILED = "Task threw an uncaught and unrecoverable exception"
_POLL_S = 0.1  # an index range scan of at most a few rows: cheap enough to poll often


async def _markers(conn: asyncpg.Connection, table: str, file_id: str) -> int:
    try:
        n = await conn.fetchval(
            f'SELECT count(*) FROM "{table}" WHERE lot_external_id LIKE $1',
            f"{END_PREFIX}{file_id}:%",
        )
    except asyncpg.UndefinedTableError:  # the sink creates its table on its first batch
        return 0
    return int(n)


def _task_failed(proc: Proc) -> bool:
    # A failed sink task stays failed while the worker runs on: only its log says so.
    return _FAILED in proc.stdout


async def lots_in(dsn: str, table: str) -> int:
    """Rows of the peer's table, end markers left out."""
    conn = await asyncpg.connect(dsn)
    try:
        n = await conn.fetchval(
            f'SELECT count(*) FROM "{table}" WHERE lot_external_id NOT LIKE $1', f"{END_PREFIX}%"
        )
    finally:
        await conn.close()
    return int(n)


async def ingest(
    peer: Peer, name: str, file_id: str, *, partitions: int, rows: int, limit_s: float = 1800
) -> dict[str, Any]:
    """Start the worker, wait for the file's markers, stop it (its offsets are committed)."""
    proc = await start(peer, name)
    conn = await asyncpg.connect(peer.dsn)
    try:
        started = await wait_task_started(proc)
        deadline = time.monotonic() + limit_s
        while await _markers(conn, peer.table, file_id) < partitions:
            if proc.process.returncode is not None or _task_failed(proc):
                raise RuntimeError(f"Kafka Connect: the sink task failed or the worker exited, "
                                   f"see {proc.log_dir / (name + '.out')}")  # fmt: skip
            if time.monotonic() > deadline:
                raise RuntimeError(f"the peer did not finish within {limit_s:.0f} s")
            await asyncio.sleep(_POLL_S)
        ended = time.time()
    finally:
        await conn.close()
        await proc.stop(30)
    seconds = ended - started
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds, 1) if seconds > 0 else 0.0,
        "jvm_peak_rss_mb": round(proc.peak_rss_mb, 1),
        "errors_logged": proc.stdout.count(" ERROR "),
    }
