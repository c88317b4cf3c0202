"""Who maintains staging, and how it fails: two maintainers at once, a maintenance behind a
long transaction, `consumer maintain`'s exit codes, and the consumer login that owns no
table. Both keepers (pg_partman, the consumer's own), as test_staging_window.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from consumer.store.maintenance import maintain
from consumer.store.migrate import migrate
from devstack.dsn import dsn_for
from tests.databases import new_database
from tests.integration.staging_days import (
    FILE_ID,
    REGISTRY,
    Db,
    cli,
    day_name,
    stage,
    staging_db,
    today,
)

pytestmark = pytest.mark.integration
__all__ = ["staging_db"]  # the fixture, used by name


async def test_two_maintainers_at_once_do_not_collide(staging_db: Db) -> None:
    admin = await asyncpg.connect(staging_db.admin_dsn)
    try:
        old = await stage(admin, *(timedelta(days=d) for d in (35, 36, 37)))
    finally:
        await admin.close()
    first = await asyncpg.connect(staging_db.etl_dsn)
    second = await asyncpg.connect(staging_db.etl_dsn)
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


async def test_maintain_exit_codes(staging_db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        await cli(["maintain", "--retention-days", "0"], {"VINOPS_PG_DSN": staging_db.etl_dsn}) == 2
    )
    assert "VINOPS_STAGING_RETENTION_DAYS must be >= 1" in capsys.readouterr().err
    assert await cli(["maintain"], {}) == 2
    assert "VINOPS_PG_DSN is required" in capsys.readouterr().err
    closed = "postgresql://vinops_etl:x@127.0.0.1:9/vinops"
    assert await cli(["maintain"], {"VINOPS_PG_DSN": closed}) == 5
    err = capsys.readouterr().err
    assert err.startswith("consumer maintain: cannot connect")
    assert "x@" not in err
    with pytest.raises(SystemExit) as usage:
        await cli(["maintain", "--retention-days", "many"], {"VINOPS_PG_DSN": staging_db.etl_dsn})
    assert usage.value.code == 2


async def test_the_consumer_login_owns_nothing_and_cannot_drop_a_day(staging_db: Db) -> None:
    etl = await asyncpg.connect(staging_db.etl_dsn)
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


async def test_a_maintenance_behind_a_long_transaction_gives_up(
    staging_db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = await asyncpg.connect(staging_db.admin_dsn)
    try:
        await stage(admin, timedelta(days=50))
    finally:
        await admin.close()
    writer = await asyncpg.connect(staging_db.etl_dsn)
    try:
        # A batch's transaction, open: it holds staging.copart_raw, which dropping a day locks.
        async with writer.transaction():
            await writer.execute(
                "INSERT INTO staging.copart_raw (file_id, row_no, window_start_utc,"
                " lot_external_id, fields_total, fields_unknown) VALUES ($1, 99, now(), 'w', 1, 0)",
                FILE_ID,
            )
            started = asyncio.get_running_loop().time()
            code = await cli(["maintain"], {"VINOPS_PG_DSN": staging_db.etl_dsn})
            waited = asyncio.get_running_loop().time() - started
    finally:
        await writer.close()
    assert code == 1
    (line,) = capsys.readouterr().err.splitlines()
    # lock_not_available; pg_partman re-raises what it catches as its own error (P0001).
    state = "P0001" if staging_db.kind == "pg_partman" else "55P03"
    assert line.startswith(f"consumer maintain: [{state}]")
    assert 4 < waited < 15


async def test_a_database_lacking_the_migration_is_configuration(
    pg_admin_dsn: str, pg_dsn: str, pg_superuser_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (staging,) = (m.id for m in REGISTRY if m.file.endswith("_staging_partitions.sql"))
    async with new_database(pg_admin_dsn, pg_superuser_dsn, "vinops_sm_") as name:
        conn = await asyncpg.connect(dsn_for(pg_admin_dsn, name))
        try:
            await migrate(conn, REGISTRY, target=max(m.id for m in REGISTRY if m.id < staging))
        finally:
            await conn.close()
        env = {"VINOPS_PG_DSN": dsn_for(pg_dsn, name)}
        for argv in (["maintain"], ["status", "--storage"]):
            assert await cli(argv, env) == 2
            (line,) = capsys.readouterr().err.splitlines()
            assert line.startswith(f"consumer {argv[0]}: the database lacks")
            assert line.endswith("run `consumer migrate`")
