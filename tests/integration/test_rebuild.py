"""`consumer rebuild`: the core tables re-derived from the raw layer equal a fresh ingest of the
same files; a consistent database is left as it is; a killed rebuild resumes where it stood."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from consumer.admin.cli import main
from consumer.admin.rebuild import Selection, rebuild
from consumer.intake.records import Inbound
from consumer.prepare import mapped
from consumer.store.sink import Sink
from tests.coredump import core, inbound, ingest
from tests.databases import FreshDb, Server
from tests.rawfiles import published

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def sample_messages() -> list[Inbound]:
    """Every message the producer sends for the two sample files, as a consumer reads them."""
    out: list[Inbound] = []
    for name in ("copart-sample.csv", "copart-sample-camel.csv"):
        _, _, published_ = published((SAMPLES / name).read_bytes())
        out += inbound([m for _, m in published_], len(out))
    return out


async def run_rebuild(dsn: str, selection: Selection, **kwargs: object) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        async with asyncpg.create_pool(dsn, min_size=1, max_size=1) as pool:
            sink = Sink(pool, group_id="rebuild", consumer_name="consumer-rebuild")
            return await rebuild(conn, sink, selection, **kwargs)  # type: ignore[arg-type]
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def ingested(fresh_db: FreshDb) -> AsyncIterator[FreshDb]:
    await ingest(fresh_db.etl_dsn, sample_messages())
    yield fresh_db


async def test_a_rebuild_of_a_consistent_database_changes_nothing(ingested: FreshDb) -> None:
    before = await core(ingested.admin_dsn)
    conn = await asyncpg.connect(ingested.admin_dsn)
    try:
        stamps = await conn.fetch("SELECT xmin::text, updated_at FROM public.lots ORDER BY id")
    finally:
        await conn.close()
    done = await run_rebuild(ingested.etl_dsn, Selection())
    assert done.lots_changed == 0  # type: ignore[attr-defined]
    assert done.rows_done == done.rows_total > 300  # type: ignore[attr-defined]
    assert await core(ingested.admin_dsn) == before
    conn = await asyncpg.connect(ingested.admin_dsn)
    try:
        again = await conn.fetch("SELECT xmin::text, updated_at FROM public.lots ORDER BY id")
    finally:
        await conn.close()
    assert again == stamps  # not one lot row written


async def test_after_a_mapping_change_a_rebuild_equals_a_fresh_ingest(
    ingested: FreshDb, pg_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the previous mapping left in the core: other makes (and its version in the digest).
    conn = await asyncpg.connect(ingested.admin_dsn)
    try:
        await conn.execute("UPDATE public.lots SET make = lower(make), year = year - 1")
        await conn.execute("UPDATE public.vehicles SET make = 'OLD', trim = NULL")
    finally:
        await conn.close()
    monkeypatch.setattr(mapped, "MAPPING_VERSION", mapped.MAPPING_VERSION + 1)
    done = await run_rebuild(ingested.etl_dsn, Selection(), batch=64)
    assert done.lots_changed > 0  # type: ignore[attr-defined]
    async with pg_server.fresh() as other:
        await ingest(other.etl_dsn, sample_messages(), size=25)
        assert await core(ingested.admin_dsn) == await core(other.admin_dsn)
    # The contents are applied under the new version: the next snapshot skips them again.
    conn = await asyncpg.connect(ingested.admin_dsn)
    try:
        versions = await conn.fetch(
            "SELECT DISTINCT mapping_version FROM raw.contents WHERE kind = 'row'"
        )
    finally:
        await conn.close()
    assert [r[0] for r in versions] == [mapped.MAPPING_VERSION]


async def test_a_killed_rebuild_resumes_where_it_stood(ingested: FreshDb) -> None:
    first = await run_rebuild(ingested.etl_dsn, Selection(), batch=50, stop_after=2)
    assert first.rows_done == 100  # type: ignore[attr-defined]
    conn = await asyncpg.connect(ingested.admin_dsn)
    try:
        row = await conn.fetchrow("SELECT rows_done, finished_at FROM ingest.rebuilds")
        assert row is not None
        assert (row["rows_done"], row["finished_at"]) == (100, None)
    finally:
        await conn.close()
    rest = await run_rebuild(ingested.etl_dsn, Selection(), batch=50)
    assert rest.resumed  # type: ignore[attr-defined]
    assert rest.rows_done == rest.rows_total  # type: ignore[attr-defined]
    conn = await asyncpg.connect(ingested.admin_dsn)
    try:
        rows = await conn.fetch("SELECT rows_done, finished_at FROM ingest.rebuilds")
    finally:
        await conn.close()
    assert len(rows) == 1
    assert rows[0]["finished_at"] is not None


async def test_the_command_selects_counts_and_refuses_in_one_line(
    ingested: FreshDb, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"VINOPS_PG_DSN": ingested.etl_dsn}

    def command(*argv: str) -> int:
        return main(["rebuild", *argv], env=env)

    assert await asyncio.to_thread(command, "--lot", "26519090", "--dry-run") == 0
    assert "would re-derive" in capsys.readouterr().err
    assert await asyncio.to_thread(command, "--file", "ffff") == 2
    assert capsys.readouterr().err == "consumer rebuild: no file matches 'ffff'\n"
    assert await asyncio.to_thread(command, "--since", "2020-01-01") == 0
    err = capsys.readouterr().err
    assert err.startswith("consumer rebuild: re-derived ")
    assert "; 0 lot(s) inserted or changed" in err
    bad = {"VINOPS_PG_DSN": "postgresql://nobody:x@127.0.0.1:1/none"}
    assert await asyncio.to_thread(main, ["rebuild", "--all"], bad) == 5
