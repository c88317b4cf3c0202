"""Upgrade across 0015: a database filled the way the previous code did (raw.rows holding each
Kafka message value) is migrated to the content-addressed layer without losing a row.

The database is built once for the module: migrations up to 0014, then raw.csv_files,
raw.rows and staging.copart_raw written as the previous consumer wrote them from the exact
messages of ``producer.messages.MessageBuilder``, then 0015. The tests only read it, except
two that change it and put it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import orjson
import pytest
import pytest_asyncio

from consumer.admin.cli import main
from consumer.store.migrate import default_migrations_dir, load_registry, migrate
from devstack.dsn import dsn_for
from feed.contract import content_digest, content_of, file_id_for, row_digest
from tests.coredump import core, inbound, ingest
from tests.databases import Server, new_database
from tests.rawblocks import reference_lost
from tests.rawfiles import assert_same_cells, published, records, source_files

pytestmark = pytest.mark.integration

REGISTRY = load_registry(default_migrations_dir())
BEFORE = "0014"
SEEN = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
# Row 5 of the member sample stands for a row the previous consumer could not map: kind
# 'malformed', its payload still the row object (not a wrapper).
UNMAPPED = ("copart-sample.csv", 5)


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    file_id: uuid.UUID
    sha256: str
    rows: int
    malformed: frozenset[int]  # row numbers the producer published as malformed
    header: list[str]
    dialect: str
    payloads: dict[int, str]  # row_no -> the raw.rows.payload written


@dataclass(frozen=True, slots=True)
class Upgraded:
    admin_dsn: str
    etl_dsn: str
    sources: tuple[Source, ...]
    legacy_rows: int


def _legacy_rows(source: Path) -> tuple[Source, list[tuple[object, ...]], list[tuple[object, ...]]]:
    """raw.rows and staging.copart_raw records of one file, as the previous consumer wrote them."""
    data = source.read_bytes()
    sha256, dialect, messages = published(data)
    file_id = file_id_for(sha256)
    raw: list[tuple[object, ...]] = []
    staging: list[tuple[object, ...]] = []
    payloads: dict[int, str] = {}
    for record, message in messages:
        payload = payloads[record.row_no] = message.value.decode("utf-8")
        kind, error = "row", None
        lot: str | None = message.key.decode()
        if message.malformed:
            kind, lot, error = "malformed", None, str(orjson.loads(payload)["error"])
        elif (source.name, record.row_no) == UNMAPPED:
            kind, error = "malformed", "invalid year"
        raw.append((file_id, record.row_no, kind, lot, payload, error, "rows",
                    record.row_no % 6, record.row_no))  # fmt: skip
        if kind == "row":
            # Per content, so that rows sharing a content agree on its counts.
            # Not by Id: 0016 makes rows that differ only there one content.
            unknown = len(content_of(message.value, dialect)[0]) % 7
            staging.append((file_id, record.row_no, SEEN, lot, None, None, SEEN,
                            len(record.fields), unknown))  # fmt: skip
    bad = frozenset(r.row_no for r, m in messages if m.malformed)
    header = records(data)[0]
    found = Source(source, file_id, sha256, len(messages), bad, header, dialect, payloads)
    return found, raw, staging


async def _fill(
    conn: asyncpg.Connection,
    source: Source,
    raw: list[tuple[object, ...]],
    staging: list[tuple[object, ...]],
) -> None:
    await conn.execute(
        "INSERT INTO raw.csv_files (file_id, sha256, path, bytes, headers_jsonb, dialect, "
        "encoding, rows_published, malformed_rows, started_at, completed_at) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6, 'utf-8', $7, $8, $9, $9)",
        source.file_id, source.sha256, str(source.path), source.path.stat().st_size,
        orjson.dumps(source.header).decode(), source.dialect, source.rows, len(source.malformed),
        SEEN,
    )  # fmt: skip
    await conn.copy_records_to_table("rows", schema_name="raw", records=raw, columns=(
        "file_id", "row_no", "kind", "lot_external_id", "payload", "parse_error", "kafka_topic",
        "kafka_partition", "kafka_offset"))  # fmt: skip
    await conn.copy_records_to_table("copart_raw", schema_name="staging", records=staging, columns=(
        "file_id", "row_no", "window_start_utc", "lot_external_id", "vin_raw", "vin_normalized",
        "source_updated_at", "fields_total", "fields_unknown"))  # fmt: skip


@pytest_asyncio.fixture(scope="module")
async def upgraded(
    pg_admin_dsn: str, pg_superuser_dsn: str, pg_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Upgraded]:
    async with new_database(pg_admin_dsn, pg_superuser_dsn, "vinops_u_") as name:
        dsn = dsn_for(pg_admin_dsn, name)
        conn = await asyncpg.connect(dsn)
        sources: list[Source] = []
        try:
            await migrate(conn, REGISTRY, target=BEFORE)
            assert await conn.fetchval("SELECT max(id) FROM ingest.schema_migrations") == BEFORE
            for path in source_files(tmp_path_factory.mktemp("sources")):
                source, raw, staging = _legacy_rows(path)
                await _fill(conn, source, raw, staging)
                sources.append(source)
            applied = await migrate(conn, REGISTRY)
            assert [m.id for m in applied.applied] == [m.id for m in REGISTRY if m.id > BEFORE]
        finally:
            await conn.close()
        yield Upgraded(dsn, dsn_for(pg_dsn, name), tuple(sources), sum(s.rows for s in sources))


@contextlib.asynccontextmanager
async def connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def test_every_legacy_row_has_its_reference(upgraded: Upgraded) -> None:
    async with connected(upgraded.admin_dsn) as conn:
        assert await conn.fetchval("SELECT count(*) FROM raw.file_rows") == upgraded.legacy_rows
        assert await conn.fetchval("SELECT count(*) FROM raw.rows_legacy") == upgraded.legacy_rows
        differ = await conn.fetchval(
            "SELECT count(*) FROM raw.rows_legacy l FULL JOIN raw.file_rows f USING (file_id, "
            "row_no) WHERE (l.id, l.kind, l.lot_external_id, l.parse_error, l.kafka_partition, "
            "l.kafka_offset, l.ingested_at) IS DISTINCT FROM (f.id, f.kind, f.lot_external_id, "
            "f.parse_error, f.kafka_partition, f.kafka_offset, f.ingested_at)"
        )
        assert differ == 0
        # The legacy table stays, byte for byte, and the consumer can no longer write to it.
        kept = await conn.fetch("SELECT file_id, row_no, payload::text AS p FROM raw.rows_legacy")
        assert {(r["file_id"], r["row_no"]): r["p"] for r in kept} == {
            (s.file_id, row_no): payload for s in upgraded.sources
            for row_no, payload in s.payloads.items()
        }  # fmt: skip
        assert not await conn.fetchval(
            "SELECT has_table_privilege('etl_rw', 'raw.rows_legacy', 'INSERT')"
        )


async def test_contents_are_addressed_by_the_legacy_payload(upgraded: Upgraded) -> None:
    async with connected(upgraded.admin_dsn) as conn:
        pairs = await conn.fetch(
            "SELECT l.payload::text AS payload, l.kind, f.digest, cf.dialect "
            "FROM raw.rows_legacy l JOIN raw.file_rows f USING (file_id, row_no) "
            "JOIN raw.csv_files cf USING (file_id)"
        )
        assert len(pairs) == upgraded.legacy_rows
        # 0015 addressed each by its payload; 0016 re-keyed the rows stored as arrays of cells
        # by their content without the observation cells (feed.contract.row_digest).
        for p in pairs:
            payload = p["payload"].encode()
            cut = p["kind"] == "row" and b"\\u0000" not in payload
            wanted = row_digest(payload, p["dialect"])[0] if cut else content_digest(payload)
            assert bytes(p["digest"]) == wanted, p["payload"][:80]
        distinct = {bytes(p["digest"]) for p in pairs}
        stored = {bytes(r["digest"]) for r in await conn.fetch("SELECT digest FROM raw.contents")}
        assert stored == distinct
        assert len(stored) < upgraded.legacy_rows  # the repeated camel record is stored once
        # A content is a row exactly when a legacy row applied it; its values are an array
        # under a layout, unless a cell holds NUL (PostgreSQL cannot split that object).
        mismatched = await conn.fetchval(
            "SELECT count(*) FROM raw.contents c WHERE (c.kind = 'row') <> EXISTS (SELECT 1 "
            "FROM raw.file_rows f WHERE f.digest = c.digest AND f.kind = 'row')"
        )
        assert mismatched == 0
        forms = await conn.fetch(
            "SELECT kind, layout_id IS NOT NULL AS array, strpos(body::text, '\\u0000') > 0 "
            "AS nul, count(*) AS n FROM raw.v_contents GROUP BY 1, 2, 3"
        )
        assert {(r["kind"], r["array"], r["nul"]) for r in forms} == {
            ("row", True, False), ("row", False, True), ("malformed", False, False)
        }  # fmt: skip
        assert sum(r["n"] for r in forms if r["nul"]) == 1
        counts_moved = await conn.fetchval(
            "SELECT count(*) FROM raw.file_rows f JOIN raw.contents c USING (digest) "
            "JOIN staging.copart_raw s USING (file_id, row_no) "
            "WHERE (c.fields_total, c.fields_unknown) IS DISTINCT FROM "
            "(s.fields_total, s.fields_unknown)"
        )
        assert counts_moved == 0


async def test_v_rows_gives_the_legacy_payload_with_its_key_order(upgraded: Upgraded) -> None:
    async with connected(upgraded.admin_dsn) as conn:
        pairs = await conn.fetch(
            "SELECT l.payload::text AS legacy, v.payload::text AS now, v.kind "
            "FROM raw.rows_legacy l JOIN raw.v_rows v USING (file_id, row_no)"
        )
    assert len(pairs) == upgraded.legacy_rows
    nul = 0
    for p in pairs:
        legacy, now = orjson.loads(p["legacy"]), orjson.loads(p["now"])
        assert list(now.items()) == list(legacy.items())
        nul += "\x00" in "".join(str(v) for v in legacy.values())
    assert nul == 1  # the NUL cell came through the view


def export(ref: str, out: Path, etl_dsn: str) -> int:
    return main(["export-raw", ref, "--out", str(out)], env={"VINOPS_PG_DSN": etl_dsn})


def refs(source: Source) -> Iterator[str]:
    """Every way to name a file: whole id, id prefix, whole sha256, sha256 prefix."""
    yield from (str(source.file_id), str(source.file_id)[:13], source.sha256.upper(),
                source.sha256[:10])  # fmt: skip


async def test_export_of_every_upgraded_file_gives_the_source_cells(
    upgraded: Upgraded, tmp_path: Path
) -> None:
    for n, source in enumerate(upgraded.sources):
        ref = list(refs(source))[n % 4]
        out = tmp_path / f"{source.path.stem}.csv"
        assert await asyncio.to_thread(export, ref, out, upgraded.etl_dsn) == 0, ref
        assert_same_cells(source.path.read_bytes(), out.read_bytes(), set(source.malformed))
    assert {s.path.name for s in upgraded.sources} >= {"copart-sample.csv", "nasty-member.csv"}
    assert sum(len(s.malformed) for s in upgraded.sources) == 2 + 6 + 4 + 2 + 2


async def test_export_refuses_unknown_and_ambiguous_names(
    upgraded: Upgraded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twins = ["abcabc" + c * 58 for c in "01"]
    async with connected(upgraded.admin_dsn) as conn:
        await conn.executemany(
            "INSERT INTO raw.csv_files (file_id, sha256, headers_jsonb) VALUES ($1, $2, '[]')",
            [(file_id_for(t), t) for t in twins],
        )
        try:
            out = tmp_path / "x.csv"
            for ref, said in (("abcabc", "ambiguous"), ("f" * 64, "no file matches"),
                              ("not-hex", "not a file id"), ("", "not a file id")):  # fmt: skip
                assert await asyncio.to_thread(export, ref, out, upgraded.etl_dsn) == 2, ref
                err = capsys.readouterr().err
                assert said in err
                assert len(err.strip().splitlines()) == 1, err
                assert not await asyncio.to_thread(lambda: list(tmp_path.iterdir()))  # nor .part
        finally:
            await conn.execute("DELETE FROM raw.csv_files WHERE sha256 = ANY($1)", twins)


async def test_export_with_a_lost_row_writes_the_rest_and_exits_1(
    upgraded: Upgraded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = next(s for s in upgraded.sources if s.path.name == "copart-sample-camel.csv")
    async with connected(upgraded.admin_dsn) as conn, reference_lost(conn, source.file_id, 7):
        out = tmp_path / "camel.csv"
        assert await asyncio.to_thread(export, source.sha256, out, upgraded.etl_dsn) == 1
        err = capsys.readouterr().err
        missing = "1 published row(s) missing from raw.file_rows"
        assert err == f"consumer export-raw: {source.file_id}: {missing}\n"
        exported = out.read_bytes().decode().split("\r\n")
        original = source.path.read_bytes().decode().split("\n")
        assert len(exported) == len(original) - 1  # every row but row 7 (line 8)
        assert exported == [*original[:7], *original[8:]]


async def test_a_rebuild_after_the_upgrade_equals_a_fresh_ingest(
    upgraded: Upgraded, pg_server: Server
) -> None:
    # The pre-0015 consumer's core, whatever it held, is re-derived from its raw layer: every
    # tie is ordered as a fresh ingest orders it (the data to do so is all in raw).
    env = {"VINOPS_PG_DSN": upgraded.etl_dsn}
    assert await asyncio.to_thread(main, ["rebuild", "--all"], env) == 0
    messages = []
    for source in upgraded.sources:
        _, _, sent = published(source.path.read_bytes())
        messages += [m for r, m in sent if (source.path.name, r.row_no) != UNMAPPED]
    async with pg_server.fresh() as fresh:
        await ingest(fresh.etl_dsn, inbound(messages))
        assert await core(upgraded.admin_dsn) == await core(fresh.admin_dsn)
