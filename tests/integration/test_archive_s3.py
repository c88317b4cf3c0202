"""`consumer archive` to an S3 bucket of a real S3-compatible server (SeaweedFS, tests/seaweed.py,
on local ports): archive, prune, export-raw from the bucket, archive again (nothing changes);
wrong keys are refused in one line with nothing recorded; the secret never shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import orjson
import pytest
import pytest_asyncio

from consumer.config.archive import ArchiveSettings
from consumer.store import archive_objects
from tests.archiving import archiver_login, cli, export, ingest_files
from tests.databases import FreshDb
from tests.feedshape import MEMBER, downloads
from tests.seaweed import S3Server, running, weed_binary

pytestmark = [pytest.mark.integration, pytest.mark.s3]


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        pytest.fail("no SeaweedFS weed binary: run devstack/weed.sh (or set VINOPS_WEED_BIN)")
    directory = tmp_path_factory.mktemp("seaweed")
    with running(binary, directory, directory / "weed.log") as server:
        yield server


@pytest_asyncio.fixture
async def archiver(fresh_db: FreshDb, pg_superuser_dsn: str) -> AsyncIterator[str]:
    async with archiver_login(pg_superuser_dsn, fresh_db.admin_dsn) as dsn:
        yield dsn


async def _files(dsn: str) -> dict[str, asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT sha256, archive_uri, archive_sha256, pruned_at FROM raw.csv_files"
        )
        return {r["sha256"]: r for r in rows}
    finally:
        await conn.close()


async def test_archive_prune_and_export_through_s3(
    s3: S3Server, fresh_db: FreshDb, archiver: str, tmp_path: Path
) -> None:
    one, two = downloads(MEMBER, tmp_path, 7)
    shas = await ingest_files(fresh_db.etl_dsn, [one.path, two.path])
    etl = {"VINOPS_PG_DSN": fresh_db.etl_dsn, **s3.env()}
    before = {}
    for sha in shas:
        code, before[sha] = await export(sha, tmp_path / f"{sha}.before", etl)
        assert code == 0
    uri = f"s3://{s3.bucket}/raw/test-{fresh_db.name}"
    argv = ["archive", "--keep-last", "1", "--to", uri, "--prune"]
    env = {"VINOPS_PG_DSN": archiver, **s3.env()}
    code, out = await asyncio.to_thread(cli, argv, env)
    assert code == 0, out
    assert orjson.loads(out)["archived"] == 1
    assert orjson.loads(out)["files"] == 1
    files = await _files(fresh_db.admin_dsn)
    old = files[shas[0]]
    assert old["archive_uri"].startswith(f"{uri}/")
    assert old["pruned_at"] is not None
    # The object in the bucket, read with the library on its own: the one recorded.
    settings = ArchiveSettings.from_env(s3.env())
    manifest, rows = await archive_objects.read_verified(
        old["archive_uri"], old["archive_sha256"], settings
    )
    assert manifest.sha256 == shas[0]
    assert rows == before[shas[0]]
    # Both files export as before; the pruned one from the bucket.
    for sha in shas:
        code, data = await export(sha, tmp_path / f"{sha}.after", etl)
        assert code == 0
        assert data == before[sha]
    # Again: idempotent.
    code, out = await asyncio.to_thread(cli, argv, env)
    assert code == 0
    assert orjson.loads(out)["already"] == 1
    assert await _files(fresh_db.admin_dsn) == files


async def test_wrong_keys_are_refused_in_one_line_and_nothing_is_recorded(
    s3: S3Server, fresh_db: FreshDb, archiver: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    one, _ = downloads(MEMBER, tmp_path, 8)
    await ingest_files(fresh_db.etl_dsn, [one.path])
    wrong = {**s3.env(), "VINOPS_ARCHIVE_S3_SECRET_ACCESS_KEY": "not-the-secret"}
    argv = ["archive", "--keep-last", "0", "--to", f"s3://{s3.bucket}/raw/wrong", "--prune"]
    capsys.readouterr()
    code, out = await asyncio.to_thread(cli, argv, {"VINOPS_PG_DSN": archiver, **wrong})
    assert code == 1
    assert orjson.loads(out)["archived"] == 0
    assert orjson.loads(out)["files"] == 0  # nothing archived: nothing pruned
    err = capsys.readouterr().err
    assert "not archived" in err
    assert len(err.strip().splitlines()) == 1
    assert "not-the-secret" not in err
    assert s3.secret_key not in repr(ArchiveSettings.from_env(s3.env()))
    files = await _files(fresh_db.admin_dsn)
    assert all(r["archive_uri"] is None and r["pruned_at"] is None for r in files.values())
