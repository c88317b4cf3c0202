"""Shared by the staging window tests: a database kept by pg_partman or by the consumer's
own maintenance (``staging_db``, both params), rows staged on chosen days, the CLI."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import pytest_asyncio

from consumer.admin.cli import main
from consumer.store.migrate import default_migrations_dir, load_registry, migrate
from devstack.dsn import dsn_for
from tests.databases import new_database

REGISTRY = load_registry(default_migrations_dir())
FILE_ID = uuid.UUID("6f1c2a9e-0000-4000-8000-000000000026")


@dataclass(frozen=True, slots=True)
class Db:
    kind: str  # "pg_partman" or "consumer": who keeps the partitions
    admin_dsn: str
    etl_dsn: str


@pytest_asyncio.fixture(params=["pg_partman", "consumer"])
async def staging_db(
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
