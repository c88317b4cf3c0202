"""`consumer archive` to a local directory: each fully ingested file becomes one verified
object recorded in raw.csv_files; archiving again changes nothing; --prune removes the
archived files' references and the contents no other file names, and export-raw gives a
pruned file back from its archive, byte for byte what it wrote before. Run by a login that
is a member of raw_archiver only; the consumer's login can neither archive nor prune.
(tests/integration/test_archive_s3.py: the same against a real S3 server.)
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import orjson
import pytest
import pytest_asyncio

from consumer.config.errors import ContentsPrunedError
from consumer.intake.records import Inbound
from consumer.prepare.prepare import prepare_records
from consumer.prepare.prepared import PreparedBatch
from consumer.store.archive_objects import unpack
from consumer.store.sink import Sink
from tests.archiving import archiver_login, cli, export, ingest_files, publication
from tests.databases import FreshDb
from tests.feedshape import MEMBER, downloads
from tests.rawfiles import SAMPLES, assert_same_cells, published
from tests.unit.consumer.feedrows import FILES_TOPIC, ROW_TOPIC, decoded

pytestmark = pytest.mark.integration


@dataclass(frozen=True, slots=True)
class Archived:
    db: FreshDb
    archiver_dsn: str
    shas: list[str]  # oldest first: download 1, the member sample, download 2
    exports: dict[str, bytes]  # sha256 -> export-raw's output before the archive


@pytest_asyncio.fixture
async def ingested(
    fresh_db: FreshDb, pg_superuser_dsn: str, tmp_path: Path
) -> AsyncIterator[Archived]:
    one, two = downloads(MEMBER, tmp_path, 26)
    shas = await ingest_files(fresh_db.etl_dsn, [one.path, SAMPLES[0], two.path])
    exports = {}
    for sha in shas:
        code, data = await export(
            sha, tmp_path / f"{sha}.before.csv", {"VINOPS_PG_DSN": fresh_db.etl_dsn}
        )
        assert code == 0
        exports[sha] = data
    async with archiver_login(pg_superuser_dsn, fresh_db.admin_dsn) as dsn:
        yield Archived(fresh_db, dsn, shas, exports)


async def _fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


_FILES = (
    "SELECT sha256, archive_uri, archive_sha256, archived_at, pruned_at FROM raw.csv_files "
    "ORDER BY sha256"
)
_DANGLING = (
    "SELECT count(*) AS n FROM raw.file_rows r "
    "WHERE NOT EXISTS (SELECT 1 FROM raw.contents c WHERE c.digest = r.digest)"
)
_ORPHANS = (
    "SELECT count(*) AS n FROM raw.contents c WHERE NOT EXISTS "
    "(SELECT 1 FROM raw.file_rows r WHERE r.digest = c.digest)"
)


async def test_archive_verifies_records_and_is_idempotent(
    ingested: Archived, tmp_path: Path
) -> None:
    target = tmp_path / "archive"
    env = {"VINOPS_PG_DSN": ingested.archiver_dsn}
    code, out = await asyncio.to_thread(
        cli, ["archive", "--keep-last", "1", "--to", str(target)], env
    )
    assert code == 0
    nothing_pruned = {"files": 0, "references": 0, "contents": 0, "chunks": 0, "moved": 0}
    assert orjson.loads(out) == {"archived": 2, "already": 0, "skipped": 0, **nothing_pruned}
    files = {r["sha256"]: r for r in await _fetch(ingested.db.admin_dsn, _FILES)}
    newest = ingested.shas[-1]
    assert files[newest]["archived_at"] is None  # kept last: not archived
    for sha in ingested.shas[:-1]:
        row = files[sha]
        path = Path(row["archive_uri"].removeprefix("file://"))
        data = await asyncio.to_thread(path.read_bytes)
        assert hashlib.sha256(data).hexdigest() == row["archive_sha256"]
        manifest, rows = unpack(data)
        assert manifest.sha256 == sha
        assert rows == ingested.exports[sha]  # the object holds export-raw's very output
        sidecar = orjson.loads(
            await asyncio.to_thread(path.with_name(f"{manifest.file_id}.manifest.json").read_bytes)
        )
        assert sidecar["object_sha256"] == row["archive_sha256"]
        assert sidecar["rows"] == manifest.rows == manifest.rows_published
        assert manifest.rows > 0
        assert row["pruned_at"] is None
    # Again: nothing written, nothing recorded anew.
    code, out = await asyncio.to_thread(
        cli, ["archive", "--keep-last", "1", "--to", str(target)], env
    )
    assert code == 0
    assert orjson.loads(out)["archived"] == 0
    assert orjson.loads(out)["already"] == 2
    again = {r["sha256"]: r for r in await _fetch(ingested.db.admin_dsn, _FILES)}
    assert again == files


async def test_prune_keeps_what_others_need_and_export_reads_the_archive(
    ingested: Archived, tmp_path: Path
) -> None:
    admin = ingested.db.admin_dsn
    contents_before = (await _fetch(admin, "SELECT count(*) AS n FROM raw.contents"))[0]["n"]
    kept_counts = await _fetch(
        admin, "SELECT rows_ingested, rows_ok, rows_malformed, lots_touched "
        "FROM audit.v_ingest_count WHERE sha256 = $1", ingested.shas[-1],
    )  # fmt: skip
    env = {"VINOPS_PG_DSN": ingested.archiver_dsn}
    argv = ["archive", "--keep-last", "1", "--to", str(tmp_path / "a"), "--prune"]
    code, out = await asyncio.to_thread(cli, argv, env)
    assert code == 0
    said = orjson.loads(out)
    assert said["archived"] == 2
    assert said["files"] == 2
    assert said["contents"] > 0
    files = {r["sha256"]: r for r in await _fetch(admin, _FILES)}
    pruned = ingested.shas[:-1]
    for sha in pruned:
        assert files[sha]["pruned_at"] is not None
        rows = await _fetch(admin, "SELECT count(*) AS n FROM raw.file_rows r JOIN raw.csv_files f "
                            "USING (file_id) WHERE f.sha256 = $1", sha)  # fmt: skip
        assert rows[0]["n"] == 0  # the file's references are gone, its record stays
    # Download 2 shares most contents with download 1: they stay; no reference dangles and
    # no content is left that nothing names.
    assert (await _fetch(admin, _DANGLING))[0]["n"] == 0
    assert (await _fetch(admin, _ORPHANS))[0]["n"] == 0
    contents_after = (await _fetch(admin, "SELECT count(*) AS n FROM raw.contents"))[0]["n"]
    assert 0 < said["contents"] == contents_before - contents_after
    assert await _fetch(
        admin, "SELECT rows_ingested, rows_ok, rows_malformed, lots_touched "
        "FROM audit.v_ingest_count WHERE sha256 = $1", ingested.shas[-1],
    ) == kept_counts  # fmt: skip
    # Every file exports as before: the pruned ones from their archive (as the consumer's login).
    etl = {"VINOPS_PG_DSN": ingested.db.etl_dsn}
    for sha in ingested.shas:
        code, data = await export(sha, tmp_path / f"{sha}.after.csv", etl)
        assert code == 0
        assert data == ingested.exports[sha]
    # Pruning again removes nothing more.
    code, out = await asyncio.to_thread(cli, argv, env)
    assert code == 0
    assert orjson.loads(out)["files"] == 0


async def test_a_damaged_archive_is_refused_in_one_line(
    ingested: Archived, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["archive", "--keep-last", "2", "--to", str(tmp_path / "a"), "--prune"]
    code, _ = await asyncio.to_thread(cli, argv, {"VINOPS_PG_DSN": ingested.archiver_dsn})
    assert code == 0
    row = (
        await _fetch(
            ingested.db.admin_dsn,
            _FILES.replace("ORDER BY", "WHERE pruned_at IS NOT NULL ORDER BY"),
        )
    )[0]
    path = Path(row["archive_uri"].removeprefix("file://"))
    await asyncio.to_thread(path.write_bytes, b"not the archive")
    capsys.readouterr()
    code, data = await export(
        row["sha256"], tmp_path / "x.csv", {"VINOPS_PG_DSN": ingested.db.etl_dsn}
    )
    assert code == 1
    assert data == b""  # nothing written
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "SHA-256 is not the one recorded" in err


async def test_the_consumer_login_can_neither_archive_nor_prune(ingested: Archived) -> None:
    conn = await asyncpg.connect(ingested.db.etl_dsn)
    try:
        for sql in (
            (
                "UPDATE raw.csv_files SET archived_at = now(), archive_uri = 'x', "
                "archive_sha256 = repeat('a', 64)"
            ),
            "UPDATE raw.csv_files SET pruned_at = now()",
            "DELETE FROM raw.file_row_blocks",
            "DELETE FROM raw.file_row_notes",
            "DELETE FROM raw.contents",
            "DELETE FROM raw.content_chunks",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()
    # The archiver may change nothing else either.
    conn = await asyncpg.connect(ingested.archiver_dsn)
    try:
        for sql in (
            "UPDATE raw.csv_files SET sha256 = repeat('e', 64)",
            "DELETE FROM raw.csv_files",
            "DELETE FROM public.lots",
            (
                "INSERT INTO raw.file_row_notes (file_id, row_no, kind) "
                "VALUES (gen_random_uuid(), 1, 'row')"
            ),
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()


async def test_arguments_and_places_are_checked(ingested: Archived, tmp_path: Path) -> None:
    env = {"VINOPS_PG_DSN": ingested.archiver_dsn}
    with pytest.raises(SystemExit):
        cli(["archive", "--to", str(tmp_path)], env)  # neither --before nor --keep-last
    code, _ = await asyncio.to_thread(
        cli, ["archive", "--before", "2000-01-01", "--to", "ftp://x/y"], env
    )
    assert code == 2
    code, out = await asyncio.to_thread(
        cli, ["archive", "--before", "2000-01-01", "--to", str(tmp_path)], env
    )
    assert code == 0
    assert orjson.loads(out)["archived"] == 0  # nothing completed before 2000


async def _prepared(sink: Sink, messages: list[Inbound]) -> PreparedBatch:
    known = await sink.known_contents(decoded(messages).digests())
    return prepare_records(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, known=known)


async def test_a_batch_looked_up_before_a_prune_is_prepared_again(
    fresh_db: FreshDb, pg_superuser_dsn: str, tmp_path: Path
) -> None:
    """Its bare references would name contents the prune removed: the write refuses
    (ContentsPrunedError, a transient error the checkpoint answers with a new look-up), and
    the batch prepared again stores them anew."""
    one, two = downloads(MEMBER, tmp_path, 31)
    await ingest_files(fresh_db.etl_dsn, [one.path])
    messages = publication(two.path, 500_000)
    async with asyncpg.create_pool(fresh_db.etl_dsn, min_size=1, max_size=1) as pool:
        sink = Sink(pool, group_id="prune-race", consumer_name="test")
        stale = await _prepared(sink, messages)
        assert stale.unchanged > 0  # download 2 shares contents with download 1
        async with archiver_login(pg_superuser_dsn, fresh_db.admin_dsn) as dsn:
            argv = ["archive", "--keep-last", "0", "--to", str(tmp_path / "a"), "--prune"]
            code, out = await asyncio.to_thread(cli, argv, {"VINOPS_PG_DSN": dsn})
        assert code == 0
        assert orjson.loads(out)["contents"] > 0
        with pytest.raises(ContentsPrunedError):
            await sink.write(stale)
        written = await _fetch(fresh_db.admin_dsn, "SELECT count(*) AS n FROM raw.file_rows")
        assert written[0]["n"] == 0  # nothing of the batch was written
        fresh = await _prepared(sink, messages)
        await sink.write(fresh)
    assert (await _fetch(fresh_db.admin_dsn, _DANGLING))[0]["n"] == 0
    sha = published(two.path.read_bytes())[0]
    code, data = await export(sha, tmp_path / "two.csv", {"VINOPS_PG_DSN": fresh_db.etl_dsn})
    assert code == 0
    assert_same_cells(two.path.read_bytes(), data, set())


def _most_rows_changed(source: Path, out: Path) -> Path:
    """``source`` with the bid of two rows in three changed: most contents are new."""
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    bid = header.index(MEMBER.bid)
    for n, row in enumerate(body):
        if n % 3:
            row[bid] = f"{n}.00"
    text = io.StringIO(newline="")
    csv.writer(text, lineterminator="\r\n").writerows([header, *body])
    out.write_text(text.getvalue(), encoding="utf-8")
    return out


async def _chunks(dsn: str) -> int:
    return int((await _fetch(dsn, "SELECT count(*) AS n FROM raw.content_chunks"))[0]["n"])


async def test_prune_rewrites_chunks_it_left_half_empty(
    fresh_db: FreshDb, pg_superuser_dsn: str, tmp_path: Path
) -> None:
    one, _ = downloads(MEMBER, tmp_path, 41)
    two = _most_rows_changed(one.path, tmp_path / "two.csv")
    shas = await ingest_files(fresh_db.etl_dsn, [one.path, two])
    etl = {"VINOPS_PG_DSN": fresh_db.etl_dsn}
    code, before = await export(shas[1], tmp_path / "before.csv", etl)
    assert code == 0
    chunks_before = (
        await _fetch(fresh_db.admin_dsn, "SELECT count(*) AS n FROM raw.content_chunks")
    )[0]["n"]
    async with archiver_login(pg_superuser_dsn, fresh_db.admin_dsn) as dsn:
        argv = ["archive", "--keep-last", "1", "--to", str(tmp_path / "a"), "--prune"]
        code, out = await asyncio.to_thread(cli, argv, {"VINOPS_PG_DSN": dsn})
    assert code == 0
    said = orjson.loads(out)
    assert said["moved"] > 0  # download 1's chunks kept a third of their contents
    assert said["chunks"] > 0
    sparse = await _fetch(
        fresh_db.admin_dsn,
        "SELECT chunk_id FROM raw.contents GROUP BY chunk_id HAVING count(*) <= 16 "
        "EXCEPT SELECT max(chunk_id) FROM raw.content_chunks",  # the last one may be short
    )
    chunks_after = (
        await _fetch(fresh_db.admin_dsn, "SELECT count(*) AS n FROM raw.content_chunks")
    )[0]["n"]
    assert chunks_after < chunks_before
    assert (await _fetch(fresh_db.admin_dsn, _DANGLING))[0]["n"] == 0
    assert (await _fetch(fresh_db.admin_dsn, _ORPHANS))[0]["n"] == 0
    # Bodies moved, not changed: the kept file and the pruned one export as before.
    code, after = await export(shas[1], tmp_path / "after.csv", etl)
    assert code == 0
    assert after == before
    code, pruned = await export(shas[0], tmp_path / "pruned.csv", etl)
    assert code == 0
    assert_same_cells(one.path.read_bytes(), pruned, set())
    assert len(sparse) <= 2  # at most the new chunks' short tails
