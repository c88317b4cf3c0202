"""Upgrade across 0024: references written one row each (raw.file_rows as a table, as the
consumer before 0024 wrote them) move into blocks and notes without loss. Every column of
raw.file_rows, the passport's raw.rows, the audit views and export-raw read the same before
and after; the consumer then writes on top (a file published again counts nothing new, a new
file gets ids above the old ones).

The database is built once for the module: migrations up to the one before 0024, two sample
files stored as that consumer stored them, with what a real database holds besides plain rows:
refused rows with their errors, observation cells, lot numbers that are not plain integers,
rows without Kafka position (copied from the legacy layout), ids with holes, three
partitions, two ingest times. Then the rest of the migrations.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
import pytest_asyncio

from consumer.admin import export
from consumer.admin.cli import main
from consumer.store import statements
from consumer.store.migrate import default_migrations_dir, load_registry, migrate
from devstack.dsn import dsn_for
from feed.contract import content_digest, file_id_for
from tests.databases import new_database
from tests.rawfiles import SAMPLES, published

pytestmark = pytest.mark.integration

REGISTRY = load_registry(default_migrations_dir())
COMPACT = next(m.id for m in REGISTRY if m.file.endswith("_compact_references.sql"))
BEFORE = REGISTRY[[m.id for m in REGISTRY].index(COMPACT) - 1].id

_REF_COLUMNS = ("id, file_id, row_no, kind, lot_external_id, digest, parse_error, "
                "kafka_partition, kafka_offset, ingested_at, observed")  # fmt: skip
READS = {
    "file_rows": f"SELECT {_REF_COLUMNS} FROM raw.file_rows ORDER BY file_id, row_no",
    "rows": "SELECT id, file_id, row_no, payload_jsonb, payload::text, kind, lot_external_id, "
    "parse_error, kafka_partition, kafka_offset, digest, observed FROM raw.rows "
    "ORDER BY file_id, row_no",
    "ingest_count": "SELECT file_id, rows_ingested, rows_ok, rows_malformed, parse_errors, "
    "lots_touched FROM audit.v_ingest_count ORDER BY file_id",
    "unknown_rate": "SELECT * FROM audit.v_unknown_rate ORDER BY 1, 2",
}
T0 = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Upgraded:
    admin_dsn: str
    etl_dsn: str
    sha256s: tuple[str, ...]
    before: dict[str, list[tuple[Any, ...]]]
    exports_before: dict[str, bytes]
    max_id: int


def _lot(row_no: int, key: bytes) -> str | None:
    """Lot numbers as a real database holds them: mostly plain, some not (kept in notes)."""
    return {3: "0123", 4: "A-77", 5: None, 6: "99999999999"}.get(row_no, key.decode() or None)


async def _store_before_0030(conn: asyncpg.Connection, path: Path, first_id: int) -> str:
    """One file as the consumer before 0024 stored it: contents, then one reference row each."""
    data = await asyncio.to_thread(path.read_bytes)
    sha256, dialect, messages = published(data)
    file_id = file_id_for(sha256)
    header = list(orjson.loads(next(m for _, m in messages if not m.malformed).value))
    await conn.execute(
        "INSERT INTO raw.csv_files (file_id, sha256, path, bytes, headers_jsonb, dialect, "
        "encoding, rows_published, malformed_rows) VALUES ($1, $2, $3, $4, $5::jsonb, $6, "
        "'utf-8', $7, $8)",
        file_id, sha256, str(path), len(data), orjson.dumps(header).decode(), dialect,
        len(messages), sum(m.malformed for _, m in messages),
    )  # fmt: skip
    layout_id = await conn.fetchval(
        "INSERT INTO raw.layouts (digest, names) VALUES (sha256(convert_to("
        "array_to_json($1::text[])::text, 'UTF8')), $1) ON CONFLICT (digest) DO UPDATE "
        "SET names = EXCLUDED.names RETURNING layout_id",
        header,
    )
    refs = []
    for n, (record, message) in enumerate(messages):
        digest = content_digest(message.value)
        if message.malformed:
            body, layout, kind = message.value.decode(), None, "malformed"
        else:
            cells = orjson.loads(message.value)
            body, layout, kind = orjson.dumps(list(cells.values())).decode(), layout_id, "row"
        if not await conn.fetchval("SELECT 1 FROM raw.contents WHERE digest = $1", digest):
            chunk = await conn.fetchval(
                "INSERT INTO raw.content_chunks (bodies) VALUES ($1) RETURNING chunk_id", [body]
            )
            await conn.execute(
                "INSERT INTO raw.contents (digest, kind, layout_id, chunk_id, pos, fields_total,"
                " fields_unknown, source_updated_at) VALUES ($1, $2, $3, $4, 0, $5, 1, $6)",
                digest, kind, layout, chunk, 49 if layout else None, T0,
            )  # fmt: skip
        legacy = record.row_no % 11 == 0  # copied from raw.rows_legacy: no Kafka position
        refs.append((
            first_id + n + (n // 7) * 3,  # holes, as sessions' id caches leave them
            file_id, record.row_no, kind, None if kind == "malformed" else _lot(
                record.row_no, message.key),
            digest, "csv_field_count: expected 59" if kind == "malformed" else None,
            None if legacy else record.row_no % 3, None if legacy else 1000 + n,
            T0 + dt.timedelta(minutes=n // 40),
            [f"seen-{record.row_no}"] if record.row_no % 13 == 0 else None,
        ))  # fmt: skip
    await conn.copy_records_to_table(
        "file_rows", schema_name="raw", records=refs, columns=_REF_COLUMNS.split(", ")
    )
    return sha256


async def _reads(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = await asyncpg.connect(dsn)
    try:
        return {name: [tuple(r) for r in await conn.fetch(q)] for name, q in READS.items()}
    finally:
        await conn.close()


async def _export(dsn: str, sha256: str, out: Path) -> bytes:
    argv = ["export-raw", sha256, "--out", str(out)]
    assert await asyncio.to_thread(main, argv, env={"VINOPS_PG_DSN": dsn}) == 0
    return await asyncio.to_thread(out.read_bytes)


async def _rows_as_exported(dsn: str, sha256: str) -> bytes:
    """What export-raw writes for the file, as the code before the archive reads it (the
    database is not migrated yet: no archive columns to look at)."""
    conn = await asyncpg.connect(dsn)
    try:
        text = io.StringIO(newline="")
        counts = await export.export_rows(conn, await export.find_file(conn, sha256), text)
        assert counts.problems() == []
        return text.getvalue().encode()
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="module")
async def upgraded(
    pg_admin_dsn: str, pg_superuser_dsn: str, pg_dsn: str
) -> AsyncIterator[Upgraded]:
    async with new_database(pg_admin_dsn, pg_superuser_dsn, "vinops_u30_") as name:
        dsn = dsn_for(pg_admin_dsn, name)
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn, REGISTRY, target=BEFORE)
            sha256s = (await _store_before_0030(conn, SAMPLES[0], 1),
                       await _store_before_0030(conn, SAMPLES[1], 5000))  # fmt: skip
            max_id = int(await conn.fetchval("SELECT max(id) FROM raw.file_rows"))
        finally:
            await conn.close()
        before = await _reads(dsn)
        exports = {s: await _rows_as_exported(dsn, s) for s in sha256s}
        conn = await asyncpg.connect(dsn)
        try:
            applied = await migrate(conn, REGISTRY)
            assert [m.id for m in applied.applied] == [m.id for m in REGISTRY if m.id > BEFORE]
        finally:
            await conn.close()
        yield Upgraded(dsn, dsn_for(pg_dsn, name), sha256s, before, exports, max_id)


async def test_every_reference_reads_the_same(upgraded: Upgraded) -> None:
    after = await _reads(upgraded.admin_dsn)
    assert len(upgraded.before["file_rows"]) > 100
    for name in READS:
        assert after[name] == upgraded.before[name], name


async def test_the_rare_cases_are_notes_and_plain_rows_are_not(upgraded: Upgraded) -> None:
    conn = await asyncpg.connect(upgraded.admin_dsn)
    try:
        notes = {r["row_no"] for r in await conn.fetch("SELECT row_no FROM raw.file_row_notes")}
        blocks = await conn.fetchval("SELECT count(*) FROM raw.file_row_blocks")
    finally:
        await conn.close()
    refs = upgraded.before["file_rows"]
    plain = [r for r in refs if r[3] == "row" and r[6] is None and r[10] is None
             and r[4] not in ("0123", "A-77", "99999999999")]  # fmt: skip
    assert {3, 4, 6, 13} <= notes
    assert len(notes) < len(refs) - len(plain) + 1 + 2  # only the rare rows (two files)
    assert blocks < len(refs) / 3  # holes, partitions and times cut blocks; still few


async def test_export_raw_reads_the_same(upgraded: Upgraded, tmp_path: Path) -> None:
    for sha256 in upgraded.sha256s:
        after = await _export(upgraded.etl_dsn, sha256, tmp_path / f"{sha256}.csv")
        assert after == upgraded.exports_before[sha256]


async def test_the_consumer_writes_on_top(upgraded: Upgraded) -> None:
    """A file published again records nothing new; a new file's ids come after the old ones."""
    conn = await asyncpg.connect(upgraded.etl_dsn)
    try:
        old = upgraded.before["file_rows"][0]
        new_file = uuid.uuid4()
        async with conn.transaction():
            await conn.execute(
                "CREATE TEMP TABLE vinops_refs (file_id uuid, row_no integer, kind text, "
                "lot_external_id text, digest bytea, parse_error text, kafka_partition integer,"
                " kafka_offset bigint, observed text[]) ON COMMIT DROP"
            )
            await conn.executemany(
                "INSERT INTO vinops_refs VALUES ($1, $2, 'row', '5', $3, NULL, 0, $4, NULL)",
                [(old[1], old[2], old[5], 1), (new_file, 1, old[5], 2), (new_file, 2, old[5], 3)],
            )
            counted = await conn.fetch(statements.REFERENCES_WRITE)
        assert {r["file_id"]: r["n"] for r in counted} == {new_file: 2}
        ids = await conn.fetch(
            "SELECT id FROM raw.file_rows WHERE file_id = $1 ORDER BY row_no", new_file
        )
        assert ids[0]["id"] > upgraded.max_id
        assert ids[1]["id"] == ids[0]["id"] + 1
        again = await conn.fetchval(
            "SELECT count(*) FROM raw.file_rows WHERE file_id = $1 AND row_no = $2", old[1], old[2]
        )
        assert again == 1
    finally:
        await conn.close()
