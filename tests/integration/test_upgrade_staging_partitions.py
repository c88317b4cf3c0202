"""Upgrade across the staging partitioning migration: a staging table
filled the way the previous consumer wrote it, rows staged over many days (some far older
than the window), migrates with every row kept value for value, each in its day; only the
retention then drops the old days, never the migration.

The database: migrations up to the one before, staging rows written with the previous
consumer's statement (its ON CONFLICT on the old (file_id, row_no) key), then the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from consumer.store.maintenance import maintain
from consumer.store.migrate import default_migrations_dir, load_registry, migrate
from devstack.dsn import dsn_for
from tests.databases import new_database

pytestmark = pytest.mark.integration

REGISTRY = load_registry(default_migrations_dir())
# Looked up once by name: the lead renumbers migrations when branches merge.
(STAGING,) = (m.id for m in REGISTRY if m.file.endswith("_staging_partitions.sql"))
BEFORE = max(m.id for m in REGISTRY if m.id < STAGING)
AGES_DAYS = (45, 31, 10, 0)  # how long ago each group of rows was staged
ROWS_PER_DAY = 50

# consumer/sql/contents_and_staging.sql before the partitioning, with ingested_at given (the
# previous consumer let it default to now(): these rows were staged on other days).
_PREVIOUS_INSERT = """
INSERT INTO staging.copart_raw (file_id, row_no, window_start_utc, lot_external_id, vin_raw,
                                vin_normalized, source_updated_at, fields_total, fields_unknown,
                                ingested_at)
SELECT $1, n, date_trunc('hour', su, 'UTC'), 'lot-' || n, 'vin ' || n, NULL, su, 49, n % 7,
       $2::timestamptz
FROM generate_series($3::int, $4::int) AS n,
     LATERAL (SELECT $2::timestamptz - make_interval(days => n % 3) AS su) AS s
ON CONFLICT (file_id, row_no) DO NOTHING
"""


@pytest_asyncio.fixture
async def upgraded(
    pg_admin_dsn: str, pg_dsn: str, pg_superuser_dsn: str
) -> AsyncIterator[tuple[str, str, list[tuple[Any, ...]]]]:
    async with new_database(pg_admin_dsn, pg_superuser_dsn, "vinops_u40_") as name:
        admin_dsn = dsn_for(pg_admin_dsn, name)
        conn = await asyncpg.connect(admin_dsn)
        try:
            await migrate(conn, REGISTRY, target=BEFORE)
            file_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO raw.csv_files (file_id, sha256) VALUES ($1, $2)", file_id, "ab" * 32
            )
            now = datetime.now(UTC)
            for n, age in enumerate(AGES_DAYS):
                first = n * ROWS_PER_DAY + 1
                await conn.execute(
                    _PREVIOUS_INSERT, file_id, now - timedelta(days=age, minutes=5), first,
                    first + ROWS_PER_DAY - 1,
                )  # fmt: skip
            before = [
                tuple(r) for r in await conn.fetch("SELECT * FROM staging.copart_raw ORDER BY id")
            ]
            applied = await migrate(conn, REGISTRY)
            assert [m.id for m in applied.applied] == [m.id for m in REGISTRY if m.id > BEFORE]
        finally:
            await conn.close()
        yield admin_dsn, dsn_for(pg_dsn, name), before


async def test_every_row_is_kept_in_its_day(
    upgraded: tuple[str, str, list[tuple[Any, ...]]],
) -> None:
    admin_dsn, _, before = upgraded
    assert len(before) == len(AGES_DAYS) * ROWS_PER_DAY
    conn = await asyncpg.connect(admin_dsn)
    try:
        after = [tuple(r) for r in await conn.fetch("SELECT * FROM staging.copart_raw ORDER BY id")]
        placed = await conn.fetch(
            "SELECT tableoid::regclass::text AS part, ingested_at FROM staging.copart_raw"
        )
        kind = await conn.fetchval(
            "SELECT relkind::text FROM pg_class WHERE oid = 'staging.copart_raw'::regclass"
        )
        # The id sequence carries on past the copied rows.
        next_id = await conn.fetchval(
            "INSERT INTO staging.copart_raw (file_id, row_no, window_start_utc, lot_external_id,"
            " fields_total, fields_unknown) SELECT file_id, 9999, now(), 'x', 1, 0"
            " FROM raw.csv_files LIMIT 1 RETURNING id"
        )
    finally:
        await conn.close()
    assert after == before  # every column of every row, whatever its age
    assert kind == "p"
    for r in placed:
        assert r["part"] == f"staging.copart_raw_p{r['ingested_at'].astimezone(UTC):%Y_%m_%d}"
    assert next_id > max(row[0] for row in before)


async def test_only_the_retention_drops_the_days_past_the_window(
    upgraded: tuple[str, str, list[tuple[Any, ...]]],
) -> None:
    _, etl_dsn, before = upgraded
    etl = await asyncpg.connect(etl_dsn)
    try:
        done = await maintain(etl, 30, wait=True)
        left = [tuple(r) for r in await etl.fetch("SELECT * FROM staging.copart_raw ORDER BY id")]
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await etl.execute("DELETE FROM staging.copart_raw")
    finally:
        await etl.close()
    window = datetime.now(UTC) - timedelta(days=30)
    assert left == [r for r in before if r[10] > window]  # ingested_at: the 11th column
    assert len(left) == 2 * ROWS_PER_DAY
    gone = {f"copart_raw_p{r[10]:%Y_%m_%d}" for r in before if r[10] < window}
    assert gone <= set(done.dropped)
