"""The service's timers (consumer/service/upkeep.py) with short intervals, on a real pool of
the consumer login: the gauge after a tick, an old staging day dropped by the timer, and a
failing maintenance that costs one warning line and a metric per run, never the task."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from consumer.config.settings import Storage
from consumer.observe.metrics import Metrics
from consumer.service.upkeep import Upkeep
from consumer.store.storage import SCHEMAS
from tests.databases import FreshDb

pytestmark = pytest.mark.integration

SHORT = Storage(maintenance_interval_s=0.2, storage_metrics_interval_s=0.2)


@pytest_asyncio.fixture
async def pool(fresh_db: FreshDb) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(fresh_db.etl_dsn, min_size=1, max_size=2) as p:
        yield p


async def until(what: str, done: Callable[[], bool], wait_s: float = 20) -> None:
    deadline = time.monotonic() + wait_s
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_timers_export_the_sizes_and_drop_an_old_day(
    fresh_db: FreshDb, pool: asyncpg.Pool
) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    admin = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        await admin.execute("SELECT staging.copart_raw_day($1::date)", old.date())
    finally:
        await admin.close()
    registry = CollectorRegistry()
    tasks = Upkeep(pool, SHORT, Metrics(registry)).tasks()
    try:
        await until(
            "a storage reading and a maintenance run",
            lambda: (
                sample(registry, "vinops_upkeep_runs_total", task="storage", result="ok") >= 2
                and sample(registry, "vinops_upkeep_runs_total", task="maintenance", result="ok")
                >= 2
            ),
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for schema in SCHEMAS:
        assert sample(registry, "vinops_database_bytes", schema=schema) > 0, schema
    assert sample(registry, "vinops_database_growth_alert_bytes_per_day") == 10 * 1024**3
    assert sample(registry, "vinops_staging_partitions_changed_total", action="dropped") == 1
    async with pool.acquire() as conn:
        gone = await conn.fetchval("SELECT to_regclass($1)", f"staging.copart_raw_p{old:%Y_%m_%d}")
        kept = await conn.fetch("SELECT schema_name, bytes FROM ingest.storage_daily")
    assert gone is None
    assert {r["schema_name"] for r in kept} == set(SCHEMAS)  # today's reading, one per schema


async def test_a_failing_maintenance_is_one_line_and_a_metric_per_run(
    fresh_db: FreshDb, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        await admin.execute(
            "REVOKE EXECUTE ON FUNCTION staging.maintain_copart_raw(integer, integer, boolean) "
            "FROM etl_rw"
        )
    finally:
        await admin.close()
    registry = CollectorRegistry()
    caplog.set_level(logging.WARNING, logger="consumer.service.upkeep")
    tasks = Upkeep(pool, SHORT, Metrics(registry)).tasks()

    def failed() -> float:
        return sample(registry, "vinops_upkeep_runs_total", task="maintenance", result="failed")

    try:
        await until("three failed maintenance runs", lambda: failed() >= 3)
        assert not any(t.done() for t in tasks)  # still ticking
        # The storage timer is not held up by the failing one.
        assert sample(registry, "vinops_upkeep_runs_total", task="storage", result="ok") >= 1
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    lines = [r for r in caplog.records if r.getMessage().startswith("staging maintenance failed")]
    assert len(lines) == failed()
    assert all(r.exc_info is None for r in lines)  # one line each, no traceback
    assert "InsufficientPrivilege" in lines[0].getMessage() or "42501" in lines[0].getMessage()
