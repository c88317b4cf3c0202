"""Staging's rolling window (migration 0022, consumer/store/maintenance.py): days made ahead,
days past the retention dropped whole by `consumer maintain`, rows inside the window kept,
rows the default partition caught given their day, one staging row per physical row across
days. Each test runs twice: with pg_partman keeping the table (the devstack and CI create
the extension) and with the consumer's own maintenance (a database whose pg_partman a
superuser dropped before migrating)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from consumer.prepare.prepare import prepare_records
from consumer.store.maintenance import PREMAKE_DAYS, maintain
from consumer.store.sink import Sink
from consumer.store.storage_report import gather
from tests.integration.staging_days import (
    FILE_ID,
    Db,
    cli,
    day_name,
    partitions,
    stage,
    staging_db,
    today,
)
from tests.unit.consumer.feedrows import (
    FILES_TOPIC,
    ROW_TOPIC,
    completed_msg,
    member_row,
    row_msg,
    started_msg,
)

pytestmark = pytest.mark.integration
__all__ = ["staging_db"]  # the fixture, used by name


async def test_days_are_made_ahead(staging_db: Db) -> None:
    etl = await asyncpg.connect(staging_db.etl_dsn)
    try:
        await maintain(etl, 30, wait=True)
        names = await partitions(etl)
        report = await gather(etl)
    finally:
        await etl.close()
    ahead = {day_name(today() + timedelta(days=d)) for d in range(PREMAKE_DAYS + 1)}
    assert ahead <= names
    assert "copart_raw_default" in names
    assert report.staging_managed_by == staging_db.kind


async def test_maintain_drops_old_days_and_keeps_the_window(
    staging_db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = await asyncpg.connect(staging_db.admin_dsn)
    try:
        old = await stage(admin, timedelta(days=40), timedelta(days=31, hours=1))
        kept = await stage(admin, timedelta(days=29, hours=23), timedelta(0), first_row=3)
        before = {
            r["row_no"]: tuple(r) for r in await admin.fetch("SELECT * FROM staging.copart_raw")
        }
    finally:
        await admin.close()
    env = {"VINOPS_PG_DSN": staging_db.etl_dsn, "VINOPS_STAGING_RETENTION_DAYS": "30"}
    assert await cli(["maintain", "--json"], env) == 0
    done = orjson.loads(capsys.readouterr().out)
    assert done["retention_days"] == 30
    old_days = {day_name(at) for _, at in old}
    assert old_days <= set(done["dropped"])
    assert not {day_name(at) for _, at in kept} & set(done["dropped"])
    admin = await asyncpg.connect(staging_db.admin_dsn)
    try:
        after = {
            r["row_no"]: tuple(r) for r in await admin.fetch("SELECT * FROM staging.copart_raw")
        }
        names = await partitions(admin)
    finally:
        await admin.close()
    # Rows inside the window kept, value for value; the old days gone whole.
    assert after == {n: before[n] for n, _ in kept}
    assert not old_days & names
    # Nothing left to do: a second run drops nothing, and says so in text.
    assert await cli(["maintain"], env) == 0
    assert capsys.readouterr().out.strip().endswith("0 dropped (retention 30 days)")


async def test_rows_caught_by_the_default_partition_get_their_day(staging_db: Db) -> None:
    # Staged while maintenance was down for longer than the days made ahead: no day of
    # theirs, so the default partition took them (the batch did not fail).
    strays = {"recent": datetime.now(UTC) - timedelta(days=12), "old": today() - timedelta(days=33)}
    admin = await asyncpg.connect(staging_db.admin_dsn)
    try:
        for n, at in enumerate(strays.values(), start=1):
            await admin.execute(
                "INSERT INTO staging.copart_raw (file_id, row_no, window_start_utc,"
                " lot_external_id, fields_total, fields_unknown, ingested_at)"
                " VALUES ($1, $2, $3, 'stray', 49, 0, $3)",
                FILE_ID, n, at,
            )  # fmt: skip
        caught = await admin.fetchval("SELECT count(*) FROM staging.copart_raw_default")
    finally:
        await admin.close()
    assert caught == 2
    etl = await asyncpg.connect(staging_db.etl_dsn)
    try:
        done = await maintain(etl, 30, wait=True)
        rows = await etl.fetch("SELECT row_no, tableoid::regclass::text FROM staging.copart_raw")
        where = {int(r[0]): str(r[1]) for r in rows}
    finally:
        await etl.close()
    recent, old = day_name(strays["recent"]), day_name(strays["old"])
    assert {recent, old} <= set(done.created)
    assert old in done.dropped  # out of the window: its day goes whole, like any other
    assert where == {1: f"staging.{recent}"}  # kept, in its own day; the default is empty


async def test_a_row_mapped_again_on_another_day_is_not_staged_twice(staging_db: Db) -> None:
    # The unique key holds per day (it carries ingested_at); the sink keeps one staging row
    # per physical row across days: a row mapped again (a replay, a new mapping version,
    # --no-skip-known) is staged only when no day holds it.
    messages = [
        started_msg(offset=0),
        row_msg(member_row("1"), row_no=1, offset=0),
        completed_msg(rows=1, malformed=0, offset=1),
    ]
    async with asyncpg.create_pool(staging_db.etl_dsn, min_size=1, max_size=2) as pool:
        sink = Sink(pool, group_id="g", consumer_name="staging-test")
        await sink.write(prepare_records(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC))
        admin = await asyncpg.connect(staging_db.admin_dsn)
        try:  # as if it had been staged three days ago
            await admin.execute("SELECT staging.copart_raw_day(current_date - 3)")
            await admin.execute(
                "UPDATE staging.copart_raw SET ingested_at = ingested_at - interval '3 days'"
            )
        finally:
            await admin.close()
        again = await sink.write(
            prepare_records(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC)
        )
        async with pool.acquire() as conn:
            staged = await conn.fetch(
                "SELECT tableoid::regclass::text AS day FROM staging.copart_raw"
            )
    assert again.rows["unchanged"] == 1  # mapped again, and applied as the same version
    assert [r["day"] for r in staged] == [
        f"staging.{day_name(datetime.now(UTC) - timedelta(days=3))}"
    ]
