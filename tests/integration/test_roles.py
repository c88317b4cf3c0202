"""S2 roles: app_ro only reads public, etl_rw writes data but never DDL, vinops_etl is etl_rw."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from devstack.dsn import dsn_for
from tests.databases import FreshDb

pytestmark = pytest.mark.integration

SCHEMAS = ("public", "raw", "staging", "audit", "ingest")
DENIED = asyncpg.InsufficientPrivilegeError


async def our_tables(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
    """(schema, table, first column) of every table in our schemas (a partitioned table
    once, not its partitions: privileges are checked on the table a query names)."""
    rows = await conn.fetch(
        """SELECT n.nspname, c.relname, a.attname FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1
           WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
             AND n.nspname = ANY($1::text[]) ORDER BY 1, 2""",
        list(SCHEMAS),
    )
    return [(r[0], r[1], r[2]) for r in rows]


@pytest_asyncio.fixture
async def as_app_ro(fresh_db: FreshDb, pg_superuser_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A session holding only app_ro's privileges (a superuser who SET ROLE drops superuser)."""
    conn = await asyncpg.connect(dsn_for(pg_superuser_dsn, fresh_db.name))
    try:
        await conn.execute("SET ROLE app_ro")
        yield conn
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def as_etl(fresh_db: FreshDb) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(fresh_db.etl_dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def test_app_ro_cannot_write_anywhere(as_app_ro: asyncpg.Connection) -> None:
    tables = await our_tables(as_app_ro)
    assert len(tables) == 23
    for schema, table, column in tables:
        name = f'"{schema}"."{table}"'
        for sql in (
            f"INSERT INTO {name} DEFAULT VALUES",
            f'UPDATE {name} SET "{column}" = "{column}" WHERE false',
            f"DELETE FROM {name} WHERE false",
            f"TRUNCATE {name}",
        ):
            with pytest.raises(DENIED):
                await as_app_ro.execute(sql)


async def test_app_ro_reads_public_only(as_app_ro: asyncpg.Connection) -> None:
    for table in ("vehicles", "lots", "sale_events", "images", "lot_versions"):
        assert await as_app_ro.fetchval(f"SELECT count(*) FROM public.{table}") == 0
    for name in ("raw.file_rows", "raw.contents", "raw.v_rows", "raw.csv_files",
                 "staging.copart_raw", "audit.parse_errors", "audit.v_ingest_count",
                 "ingest.consumer_offsets", "ingest.lot_changes"):  # fmt: skip
        with pytest.raises(DENIED):
            await as_app_ro.fetchval(f"SELECT count(*) FROM {name}")


async def test_etl_cannot_change_the_schema(as_etl: asyncpg.Connection) -> None:
    for schema in SCHEMAS:
        with pytest.raises(DENIED):
            await as_etl.execute(f"CREATE TABLE {schema}.intruder (x int)")
        with pytest.raises(DENIED):
            await as_etl.execute(f"CREATE VIEW {schema}.intruder AS SELECT 1 AS x")
    for schema, table, _ in await our_tables(as_etl):
        with pytest.raises(DENIED):  # "must be owner"
            await as_etl.execute(f'ALTER TABLE "{schema}"."{table}" ADD COLUMN intruder int')
        with pytest.raises(DENIED):
            await as_etl.execute(f'DROP TABLE "{schema}"."{table}"')
    with pytest.raises(DENIED):
        await as_etl.execute("CREATE SCHEMA intruder")
    with pytest.raises(DENIED):
        await as_etl.execute("CREATE OR REPLACE FUNCTION public.normalize_vin(text) "
                             "RETURNS text LANGUAGE sql AS 'SELECT $1'")  # fmt: skip


async def test_etl_login_is_only_etl_rw(as_etl: asyncpg.Connection) -> None:
    row = await as_etl.fetchrow(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user"
    )
    assert row is not None
    assert tuple(row) == (False, False, False, False)
    granted = await as_etl.fetch(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = current_user"
    )
    assert [r[0] for r in granted] == ["etl_rw"]


async def test_etl_writes_the_data_it_owns(as_etl: asyncpg.Connection) -> None:
    file_id = uuid.uuid4()
    async with as_etl.transaction():
        await as_etl.execute(
            "INSERT INTO raw.csv_files (file_id, sha256) VALUES ($1, $2)", file_id, "ab" * 32
        )
        chunk = await as_etl.fetchval(
            "INSERT INTO raw.content_chunks (bodies) VALUES "
            '(ARRAY[\'{"Lot number": "26519090"}\']) RETURNING chunk_id'
        )
        await as_etl.execute(
            "INSERT INTO raw.contents (digest, kind, chunk_id, pos) VALUES "
            "('\\x00112233445566778899aabbccddeeff', 'row', $1, 0)",
            chunk,
        )
        await as_etl.execute(
            "INSERT INTO raw.file_row_blocks (file_id, first_row_no, last_row_no, row_count, "
            "row_gaps, lots, digests) VALUES ($1, 1, 1, 1, '{0}', '{26519090}', "
            "'{00112233-4455-6677-8899-aabbccddeeff}')",
            file_id,
        )
        await as_etl.execute(
            "INSERT INTO staging.copart_raw (file_id, row_no, window_start_utc, lot_external_id,"
            " fields_total, fields_unknown) VALUES ($1, 1, now(), '26519090', 49, 3)",
            file_id,
        )
        await as_etl.execute(
            "INSERT INTO public.vehicles (vin, vin_raw) VALUES ('KMHE24L10HA059207', "
            "'KMHE24LI0HA059207')"
        )
        lot_id = await as_etl.fetchval(
            "INSERT INTO public.lots (lot_external_id, vin, source_updated_at) "
            "VALUES ('26519090', 'KMHE24L10HA059207', now()) RETURNING id"
        )
        await as_etl.execute("UPDATE public.lots SET status = 'Pure Sale' WHERE id = $1", lot_id)
        await as_etl.execute(
            "INSERT INTO audit.parse_errors (dedup_key, reason, message) VALUES ('t:0:1', "
            "'bad_json', 'x')"
        )
        await as_etl.execute(
            "INSERT INTO audit.etl_runs (run_id, file_id, status) VALUES ($1, $1, 'started')",
            file_id,
        )
        await as_etl.execute(
            "INSERT INTO ingest.consumer_offsets (group_id, topic, partition, next_offset) "
            "VALUES ('g', 't', 0, 1)"
        )
        await as_etl.execute("CREATE TEMP TABLE batch_tmp (x int) ON COMMIT DROP")
    counted = await as_etl.fetchrow(
        "SELECT rows_ingested, lots_touched, parse_errors FROM audit.v_ingest_count"
    )
    assert counted is not None
    assert tuple(counted) == (1, 1, 0)
    with pytest.raises(DENIED):
        await as_etl.execute("DELETE FROM public.lots")
    with pytest.raises(DENIED):  # the history is kept; only the outbox is pruned
        await as_etl.execute("DELETE FROM public.lot_versions")
    assert await as_etl.execute("DELETE FROM ingest.lot_changes") == "DELETE 0"
    with pytest.raises(DENIED):
        await as_etl.execute("DELETE FROM raw.file_row_blocks")
    with pytest.raises(DENIED):
        await as_etl.execute("DELETE FROM raw.contents")
    with pytest.raises(DENIED):  # staging keeps its window by dropping days (0022), never by rows
        await as_etl.execute("DELETE FROM staging.copart_raw")
    with pytest.raises(DENIED):  # the legacy layout is read-only since 0015
        await as_etl.execute("INSERT INTO raw.rows_legacy (file_id, row_no, kind, payload) "
                             "SELECT file_id, row_no, kind, '{}' FROM raw.file_rows")  # fmt: skip
    with pytest.raises(DENIED):
        await as_etl.execute("INSERT INTO ingest.schema_migrations (id, file, sha256) "
                             "VALUES ('9999', 'x', 'x')")  # fmt: skip


async def _raw_fixture(as_etl: asyncpg.Connection) -> uuid.UUID:
    """One file, one content (refused before: 'malformed'), one reference, as etl_rw writes."""
    file_id = uuid.uuid4()
    await as_etl.execute(
        "INSERT INTO raw.csv_files (file_id, sha256) VALUES ($1, $2)", file_id, "cd" * 32
    )
    chunk = await as_etl.fetchval(
        "INSERT INTO raw.content_chunks (bodies) VALUES "
        '(ARRAY[\'{"Lot number": "7", "Id": "1"}\']) RETURNING chunk_id'
    )
    await as_etl.execute(
        "INSERT INTO raw.contents (digest, kind, chunk_id, pos) VALUES "
        "('\\xffeeddccbbaa99887766554433221100', 'malformed', $1, 0)",
        chunk,
    )
    await as_etl.execute(
        "INSERT INTO raw.file_row_blocks (file_id, first_row_no, last_row_no, row_count, "
        "row_gaps, lots, digests) VALUES ($1, 1, 1, 1, '{0}', '{7}', "
        "'{ffeeddcc-bbaa-9988-7766-554433221100}')",
        file_id,
    )
    await as_etl.execute(
        "INSERT INTO raw.file_row_notes (file_id, row_no, kind, lot_external_id) "
        "VALUES ($1, 1, 'malformed', '7')",
        file_id,
    )
    return file_id


RAW_REWRITES = (
    "UPDATE raw.contents SET chunk_id = chunk_id + 1",
    "UPDATE raw.contents SET pos = 1",
    "UPDATE raw.contents SET layout_id = NULL",
    "UPDATE raw.contents SET digest = '\\x00112233445566778899aabbccddeeff'",
    "UPDATE raw.content_chunks SET bodies = ARRAY['{}']",
    "UPDATE raw.layouts SET names = ARRAY['x']",
    "UPDATE raw.file_row_blocks SET digests = '{00112233-4455-6677-8899-aabbccddeeff}'",
    "UPDATE raw.file_row_blocks SET row_gaps = '{1}'",
    "UPDATE raw.file_row_blocks SET lots = '{8}'",
    "UPDATE raw.file_row_notes SET observed = ARRAY['9']",
    "UPDATE raw.file_row_notes SET lot_external_id = '8'",
    "UPDATE raw.csv_files SET sha256 = repeat('ef', 32)",
    "UPDATE raw.csv_files SET file_id = gen_random_uuid()",
    "DELETE FROM raw.file_row_blocks",
    "DELETE FROM raw.file_row_notes",
    "DELETE FROM raw.contents",
    "DELETE FROM raw.content_chunks",
    "DELETE FROM raw.csv_files",
    "TRUNCATE raw.file_row_blocks",
    "TRUNCATE raw.file_row_notes",
    "TRUNCATE raw.contents",
)


async def test_etl_cannot_rewrite_the_raw_layer(as_etl: asyncpg.Connection) -> None:
    await _raw_fixture(as_etl)
    for statement in RAW_REWRITES:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_etl.transaction():
                await as_etl.execute(statement)
    # What must change may: a refused content flips to applied, a file row is filled in.
    await as_etl.execute(
        "UPDATE raw.contents SET kind = 'row', fields_total = 49, fields_unknown = 2, "
        "source_updated_at = now()"
    )
    await as_etl.execute("UPDATE raw.csv_files SET path = '/in/x.csv', rows_published = 1")
    assert await as_etl.fetchval("SELECT kind FROM raw.contents") == "row"


async def test_raw_rows_is_the_passports_shape(as_etl: asyncpg.Connection) -> None:
    file_id = await _raw_fixture(as_etl)
    row = await as_etl.fetchrow(
        "SELECT id, file_id, row_no, payload_jsonb, payload::text AS payload FROM raw.rows"
    )
    assert row is not None
    assert (row["file_id"], row["row_no"]) == (file_id, 1)
    assert row["payload_jsonb"] == '{"Id": "1", "Lot number": "7"}'
