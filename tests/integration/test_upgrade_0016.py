"""Upgrade across 0016: contents stored by the 0015 consumer (each message value under its own
digest, the row counter inside it) are re-keyed by their content without the observation
cells. Two downloads of a renumbered feed, stored the 0015 way, then share every unchanged
content; each row keeps its own counter; both files export back cell for cell.

The database is built once for the module: migrations up to 0015, the raw layer written as
the 0015 consumer wrote it (layout per key list, array bodies, the whole value's digest), then
the rest of the migrations.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import orjson
import pytest
import pytest_asyncio

from consumer.admin.cli import main
from consumer.store.migrate import default_migrations_dir, load_registry, migrate
from devstack.dsn import dsn_for
from feed.contract import content_digest, file_id_for, row_digest
from tests.databases import new_database
from tests.feedshape import CAMEL, MEMBER, downloads
from tests.rawfiles import assert_same_cells, published

pytestmark = pytest.mark.integration

REGISTRY = load_registry(default_migrations_dir())
BEFORE = "0015"

_LAYOUT_0015 = """
WITH x AS (SELECT sha256(convert_to(array_to_json($1::text[])::text, 'UTF8')) AS digest),
ins AS (INSERT INTO raw.layouts (digest, names) SELECT digest, $1::text[] FROM x
        ON CONFLICT (digest) DO NOTHING RETURNING layout_id)
SELECT layout_id FROM ins UNION ALL
SELECT l.layout_id FROM raw.layouts l JOIN x ON l.digest = x.digest LIMIT 1
"""


@dataclass(frozen=True, slots=True)
class Stored:
    path: Path
    file_id: uuid.UUID
    sha256: str
    dialect: str
    values: dict[int, bytes]  # row_no -> message value


@dataclass(frozen=True, slots=True)
class Upgraded:
    admin_dsn: str
    etl_dsn: str
    files: tuple[Stored, ...]
    contents_before: int


async def _store_as_0015(conn: asyncpg.Connection, path: Path, data: bytes) -> Stored:
    sha256, dialect, messages = published(data)
    file_id = file_id_for(sha256)
    await conn.execute(
        "INSERT INTO raw.csv_files (file_id, sha256, path, bytes, headers_jsonb, dialect, "
        "encoding, rows_published, malformed_rows) VALUES ($1, $2, $3, $4, $5::jsonb, $6, "
        "'utf-8', $7, 0)",
        file_id, sha256, str(path), len(data),
        orjson.dumps(list(orjson.loads(messages[0][1].value))).decode(), dialect, len(messages),
    )  # fmt: skip
    values: dict[int, bytes] = {}
    for record, message in messages:
        assert not message.malformed
        cells = orjson.loads(message.value)
        layout_id = await conn.fetchval(_LAYOUT_0015, list(cells))
        digest = content_digest(message.value)  # 0015: the whole value
        if not await conn.fetchval("SELECT 1 FROM raw.contents WHERE digest = $1", digest):
            chunk = await conn.fetchval(
                "INSERT INTO raw.content_chunks (bodies) VALUES ($1) RETURNING chunk_id",
                [orjson.dumps(list(cells.values())).decode()],
            )
            await conn.execute(
                "INSERT INTO raw.contents (digest, kind, layout_id, chunk_id, pos, fields_total,"
                " fields_unknown) VALUES ($1, 'row', $2, $3, 0, 49, 2)",
                digest, layout_id, chunk,
            )  # fmt: skip
        await conn.execute(
            "INSERT INTO raw.file_rows (file_id, row_no, kind, lot_external_id, digest, "
            "kafka_partition, kafka_offset) VALUES ($1, $2, 'row', $3, $4, 0, $5)",
            file_id, record.row_no, message.key.decode(), digest, record.row_no,
        )  # fmt: skip
        values[record.row_no] = message.value
    return Stored(path, file_id, sha256, dialect, values)


@pytest_asyncio.fixture(scope="module")
async def upgraded(
    pg_admin_dsn: str, pg_superuser_dsn: str, pg_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Upgraded]:
    directory = tmp_path_factory.mktemp("downloads")
    paths = [p.path for dialect in (MEMBER, CAMEL) for p in downloads(dialect, directory, 16)]
    async with new_database(pg_admin_dsn, pg_superuser_dsn, "vinops_u16_") as name:
        dsn = dsn_for(pg_admin_dsn, name)
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn, REGISTRY, target=BEFORE)
            files = [await _store_as_0015(conn, path, path.read_bytes()) for path in paths]
            before = int(await conn.fetchval("SELECT count(*) FROM raw.contents"))
            applied = await migrate(conn, REGISTRY)
            assert [m.id for m in applied.applied] == [m.id for m in REGISTRY if m.id > BEFORE]
        finally:
            await conn.close()
        yield Upgraded(dsn, dsn_for(pg_dsn, name), tuple(files), before)


async def _fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def test_every_row_names_its_content_without_the_counter(upgraded: Upgraded) -> None:
    rows = await _fetch(upgraded.admin_dsn, "SELECT file_id, row_no, digest FROM raw.file_rows")
    by_file = {f.file_id: f for f in upgraded.files}
    assert len(rows) == sum(len(f.values) for f in upgraded.files)
    wanted = set()
    for r in rows:
        stored = by_file[r["file_id"]]
        digest = row_digest(stored.values[r["row_no"]], stored.dialect)[0]
        assert bytes(r["digest"]) == digest
        wanted.add(digest)
    contents = await _fetch(upgraded.admin_dsn, "SELECT digest FROM raw.contents")
    # Re-keyed onto one content each, the two downloads' unchanged rows now share theirs.
    assert {bytes(c["digest"]) for c in contents} == wanted
    assert len(contents) < upgraded.contents_before
    orphans = await _fetch(
        upgraded.admin_dsn,
        "SELECT chunk_id FROM raw.content_chunks ch WHERE NOT EXISTS "
        "(SELECT 1 FROM raw.contents c WHERE c.chunk_id = ch.chunk_id)",
    )
    assert orphans == []


async def test_each_row_keeps_its_own_counter(upgraded: Upgraded) -> None:
    rows = await _fetch(
        upgraded.admin_dsn,
        "SELECT r.file_id, r.row_no, r.observed, r.payload::text AS payload FROM raw.v_rows r",
    )
    by_file = {f.file_id: f for f in upgraded.files}
    for r in rows:
        stored = by_file[r["file_id"]]
        value = orjson.loads(stored.values[r["row_no"]])
        assert orjson.loads(r["payload"]) == value  # the view gives every cell back
        if stored.dialect == "copart-member":
            assert r["observed"] is None  # Id is the row number: nothing kept
        else:
            assert r["observed"] == [value["_lastSeenAt"]]


async def test_both_downloads_export_back_cell_for_cell(upgraded: Upgraded, tmp_path: Path) -> None:
    for stored in upgraded.files:
        out = tmp_path / f"{stored.path.name}.out"
        argv = ["export-raw", stored.sha256, "--out", str(out)]
        env = {"VINOPS_PG_DSN": upgraded.etl_dsn}
        assert await asyncio.to_thread(main, argv, env=env) == 0
        assert_same_cells(stored.path.read_bytes(), out.read_bytes(), set())
