"""Staging's rolling window (migration 0040, consumer/store/maintenance.py): days made ahead,
days past the retention dropped whole, rows inside the window kept, two maintainers at once,
and `consumer maintain`'s exit codes. Each test runs twice: with pg_partman keeping the
table (the devstack and CI create the extension) and with the consumer's own maintenance (a
database whose pg_partman a superuser dropped before migrating)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest
import pytest_asyncio

from consumer.admin.cli import main
from consumer.prepare.prepare import prepare_records
from consumer.store.maintenance import PREMAKE_DAYS, maintain
from consumer.store.migrate import default_migrations_dir, load_registry, migrate
from consumer.store.sink import Sink
from consumer.store.storage_report import gather
from devstack.dsn import dsn_for
from tests.databases import new_database
from tests.unit.consumer.feedrows import (
    FILES_TOPIC,
    ROW_TOPIC,
    completed_msg,
    member_row,
    row_msg,
    started_msg,
)

pytestmark = pytest.mark.integration

REGISTRY = load_registry(default_migrations_dir())
FILE_ID = uuid.UUID("6f1c2a9e-0000-4000-8000-000000000026")


@dataclass(frozen=True, slots=True)
class Db:
    kind: str  # "pg_partman" or "consumer": who keeps the partitions
    admin_dsn: str
    etl_dsn: str


@pytest_asyncio.fixture(params=["pg_partman", "consumer"])
async def db(
    request: pytest.FixtureRequest, pg_admin_dsn: str, pg_dsn: str, pg_superuser_dsn: str
) -> AsyncIterator[Db]:
    async with new_database(pg_admin_dsn, pg_superuser_dsn, "vinops_sw_") as name:
        su = await asyncpg.connect(dsn_for(pg_superuser_dsn, name))
        try:
            present = await su.fetchval(
                "SELECT count(*) FROM pg_extension WHERE extname = 'pg_partman'"
            )
            # The devstack's bootstrap (and CI's) creates it in template1: both paths run.
            assert present == 1, "no pg_partman in template1: `make up` installs and creates it"
            if request.param == "consumer":
                await su.execute("DROP EXTENSION pg_partman CASCADE")
        finally:
            await su.close()
        admin_dsn = dsn_for(pg_admin_dsn, name)
        conn = await asyncpg.connect(admin_dsn)
        try:
            await migrate(conn, REGISTRY)
            await conn.execute(
                "INSERT INTO raw.csv_files (file_id, sha256) VALUES ($1, $2)", FILE_ID, "26" * 32
            )
        finally:
            await conn.close()
        yield Db(request.param, admin_dsn, dsn_for(pg_dsn, name))


async def cli(argv: list[str], env: dict[str, str]) -> int:
    """`consumer ...` as the shell runs it (its own event loop, in a thread)."""
    return await asyncio.to_thread(main, argv, env)


def today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def day_name(when: datetime) -> str:
    return f"copart_raw_p{when:%Y_%m_%d}"


async def partitions(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'staging.copart_raw'::regclass"
    )
    return {r[0] for r in rows}


async def stage(
    admin: asyncpg.Connection, *ages: timedelta, first_row: int = 1
) -> list[tuple[int, datetime]]:
    """One staging row per age (staged that long ago), its day made first as the migration
    makes the days of existing rows; returns (row_no, ingested_at)."""
    staged = []
    for n, age in enumerate(ages, start=first_row):
        at = datetime.now(UTC) - age
        await admin.execute("SELECT staging.copart_raw_day($1::date)", at.date())
        await admin.execute(
            "INSERT INTO staging.copart_raw (file_id, row_no, window_start_utc, lot_external_id,"
            " fields_total, fields_unknown, ingested_at) VALUES ($1, $2, $3, $4, 49, 3, $3)",
            FILE_ID, n, at, f"lot-{n}",
        )  # fmt: skip
        staged.append((n, at))
    return staged


async def test_days_are_made_ahead(db: Db) -> None:
    etl = await asyncpg.connect(db.etl_dsn)
    try:
        await maintain(etl, 30, wait=True)
        names = await partitions(etl)
        report = await gather(etl)
    finally:
        await etl.close()
    ahead = {day_name(today() + timedelta(days=d)) for d in range(PREMAKE_DAYS + 1)}
    assert ahead <= names
    assert "copart_raw_default" in names
    assert report.staging_managed_by == db.kind


async def test_maintain_drops_old_days_and_keeps_the_window(
    db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = await asyncpg.connect(db.admin_dsn)
    try:
        old = await stage(admin, timedelta(days=40), timedelta(days=31, hours=1))
        kept = await stage(admin, timedelta(days=29, hours=23), timedelta(0), first_row=3)
        before = {
            r["row_no"]: tuple(r) for r in await admin.fetch("SELECT * FROM staging.copart_raw")
        }
    finally:
        await admin.close()
    env = {"VINOPS_PG_DSN": db.etl_dsn, "VINOPS_STAGING_RETENTION_DAYS": "30"}
    assert await cli(["maintain", "--json"], env) == 0
    done = orjson.loads(capsys.readouterr().out)
    assert done["retention_days"] == 30
    old_days = {day_name(at) for _, at in old}
    assert old_days <= set(done["dropped"])
    assert not {day_name(at) for _, at in kept} & set(done["dropped"])
    admin = await asyncpg.connect(db.admin_dsn)
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


async def test_two_maintainers_at_once_do_not_collide(db: Db) -> None:
    admin = await asyncpg.connect(db.admin_dsn)
    try:
        old = await stage(admin, *(timedelta(days=d) for d in (35, 36, 37)))
    finally:
        await admin.close()
    first = await asyncpg.connect(db.etl_dsn)
    second = await asyncpg.connect(db.etl_dsn)
    try:
        # The service's timer does not wait: while one maintainer holds the lock it is busy.
        async with first.transaction():
            await first.fetch("SELECT * FROM staging.maintain_copart_raw(300, 4, true)")
            assert (await maintain(second, 30, wait=False)).busy
        # Two that wait: one drops the old days, the other finds them gone; neither fails.
        a, b = await asyncio.gather(maintain(first, 30, wait=True), maintain(second, 30, wait=True))
    finally:
        await first.close()
        await second.close()
    assert not a.busy
    assert not b.busy
    assert set(a.dropped) | set(b.dropped) == {day_name(at) for _, at in old}
    assert not set(a.dropped) & set(b.dropped)


async def test_maintain_exit_codes(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(["maintain", "--retention-days", "0"], {"VINOPS_PG_DSN": db.etl_dsn}) == 2
    assert "VINOPS_STAGING_RETENTION_DAYS must be >= 1" in capsys.readouterr().err
    assert await cli(["maintain"], {}) == 2
    assert "VINOPS_PG_DSN is required" in capsys.readouterr().err
    closed = "postgresql://vinops_etl:x@127.0.0.1:9/vinops"
    assert await cli(["maintain"], {"VINOPS_PG_DSN": closed}) == 5
    err = capsys.readouterr().err
    assert err.startswith("consumer maintain: cannot connect")
    assert "x@" not in err
    with pytest.raises(SystemExit) as usage:
        await cli(["maintain", "--retention-days", "many"], {"VINOPS_PG_DSN": db.etl_dsn})
    assert usage.value.code == 2


async def test_the_consumer_login_owns_nothing_and_cannot_drop_a_day(db: Db) -> None:
    etl = await asyncpg.connect(db.etl_dsn)
    try:
        owned = await etl.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'staging' AND pg_get_userbyid(c.relowner) = current_user"
        )
        assert owned == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await etl.execute(f"DROP TABLE staging.{day_name(today())}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await etl.execute("SELECT staging.copart_raw_day(current_date + 9)")
    finally:
        await etl.close()


async def test_rows_caught_by_the_default_partition_get_their_day(db: Db) -> None:
    # Staged while maintenance was down for longer than the days made ahead: no day of
    # theirs, so the default partition took them (the batch did not fail).
    strays = {"recent": datetime.now(UTC) - timedelta(days=12), "old": today() - timedelta(days=33)}
    admin = await asyncpg.connect(db.admin_dsn)
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
    etl = await asyncpg.connect(db.etl_dsn)
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


async def test_a_row_mapped_again_on_another_day_is_not_staged_twice(db: Db) -> None:
    # The unique key holds per day (it carries ingested_at); the sink keeps one staging row
    # per physical row across days: a row mapped again (a replay, a new mapping version,
    # --no-skip-known) is staged only when no day holds it.
    messages = [
        started_msg(offset=0),
        row_msg(member_row("1"), row_no=1, offset=0),
        completed_msg(rows=1, malformed=0, offset=1),
    ]
    async with asyncpg.create_pool(db.etl_dsn, min_size=1, max_size=2) as pool:
        sink = Sink(pool, group_id="g", consumer_name="staging-test")
        await sink.write(prepare_records(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC))
        admin = await asyncpg.connect(db.admin_dsn)
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


async def test_a_maintenance_behind_a_long_transaction_gives_up(
    db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = await asyncpg.connect(db.admin_dsn)
    try:
        await stage(admin, timedelta(days=50))
    finally:
        await admin.close()
    writer = await asyncpg.connect(db.etl_dsn)
    try:
        # A batch's transaction, open: it holds staging.copart_raw, which dropping a day locks.
        async with writer.transaction():
            await writer.execute(
                "INSERT INTO staging.copart_raw (file_id, row_no, window_start_utc,"
                " lot_external_id, fields_total, fields_unknown) VALUES ($1, 99, now(), 'w', 1, 0)",
                FILE_ID,
            )
            started = asyncio.get_running_loop().time()
            code = await cli(["maintain"], {"VINOPS_PG_DSN": db.etl_dsn})
            waited = asyncio.get_running_loop().time() - started
    finally:
        await writer.close()
    assert code == 1
    (line,) = capsys.readouterr().err.splitlines()
    # lock_not_available; pg_partman re-raises what it catches as its own error (P0001).
    state = "P0001" if db.kind == "pg_partman" else "55P03"
    assert line.startswith(f"consumer maintain: [{state}]")
    assert 4 < waited < 15
