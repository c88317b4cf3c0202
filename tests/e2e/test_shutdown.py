"""A second stop signal cuts a stuck drain short, yet the pool is closed and the totals
line logged (no ``os._exit``): exit 130, nothing half-written."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import UniqueName
from tests.e2e.fixtures import Feed
from tests.e2e.harness import ROOT, Harness, count, totals_of, wait_exit

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def _wait_for(
    what: str, done: Callable[[], Awaitable[bool]], proc: subprocess.Popen[bytes], log: Path
) -> None:
    for _ in range(1200):
        if await done():
            return
        assert proc.poll() is None, (await asyncio.to_thread(log.read_text))[-3000:]
        await asyncio.sleep(0.1)
    raise AssertionError(f"never saw {what}:\n{(await asyncio.to_thread(log.read_text))[-3000:]}")


def _start(harness: Harness, name: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            harness.consumer_cmd(extra=["--consumer-name", name]), cwd=ROOT,
            env={**harness.env(), "VINOPS_SHUTDOWN_TIMEOUT_S": "600"},
            stdout=subprocess.DEVNULL, stderr=out,
        )  # fmt: skip


async def test_a_second_sigterm_cuts_a_stuck_drain_and_still_logs_the_totals(
    harness: Harness, feed: Feed, pg_superuser_dsn: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    name = unique_name("stuck")[-40:]
    log = tmp_path / "consumer.log"
    # The batch's offsets cannot be written while this lock is held (SELECTs still run, so
    # the consumer joins and positions itself): its write waits, and so does its drain.
    admin = await asyncpg.connect(harness.admin_dsn)
    lock = admin.transaction()
    await lock.start()
    try:
        await admin.execute("LOCK TABLE ingest.consumer_offsets IN EXCLUSIVE MODE")
        proc = await asyncio.to_thread(_start, harness, name, log)
        harness.procs.append(proc)
        await asyncio.to_thread(harness.publish, [feed.files["D"]])

        async def write_is_waiting() -> bool:
            sql = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = $1 AND wait_event_type = 'Lock'"
            )
            return await count(pg_superuser_dsn, sql, name) > 0

        await _wait_for("the batch write waiting on the lock", write_is_waiting, proc, log)
        proc.send_signal(signal.SIGTERM)

        async def draining() -> bool:
            return b"shutdown requested: draining" in await asyncio.to_thread(log.read_bytes)

        await _wait_for("the drain starting", draining, proc, log)
        await asyncio.sleep(0.5)  # the drain now waits on the lock (600 s shutdown timeout)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(wait_exit, proc, 60)
    finally:
        await lock.rollback()
        await admin.close()
    text = await asyncio.to_thread(log.read_text)
    assert code == 130, text[-3000:]
    assert "Traceback" not in text
    assert "second signal: abandoning the drain" in text
    assert "drain cut short" in text
    last = text.strip().splitlines()[-1]
    assert '"consumer stopped"' in last, last
    assert totals_of(text)["commits"] == 0
    # The abandoned batch left nothing behind: no offsets, no rows (whole batches only).
    assert await count(harness.admin_dsn, "SELECT count(*) FROM ingest.consumer_offsets") == 0
    assert await count(harness.admin_dsn, "SELECT count(*) FROM raw.file_rows") == 0
