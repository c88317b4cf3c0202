"""`consumer status --storage [--json]` and the storage reading behind the gauge, against a
database the real sink wrote (as the consumer login), then with the raw archive's column."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest
import pytest_asyncio

from consumer.admin.cli import main
from consumer.prepare.prepare import prepare_records
from consumer.store import storage
from consumer.store.sink import Sink
from tests.databases import FreshDb
from tests.unit.consumer.feedrows import (
    FILES_TOPIC,
    ROW_TOPIC,
    completed_msg,
    member_row,
    row_msg,
    started_msg,
)

pytestmark = pytest.mark.integration

ROWS = 20


@pytest_asyncio.fixture
async def written(fresh_db: FreshDb) -> AsyncIterator[FreshDb]:
    """One file of ROWS rows through the real sink, and one storage reading."""
    async with asyncpg.create_pool(fresh_db.etl_dsn, min_size=1, max_size=2) as pool:
        sink = Sink(pool, group_id="g", consumer_name="storage-test")
        messages = [
            started_msg(offset=0),
            *(row_msg(member_row(str(n)), row_no=n, offset=n - 1) for n in range(1, ROWS + 1)),
            completed_msg(rows=ROWS, malformed=0, offset=1),
        ]
        await sink.write(prepare_records(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC))
        sizes = await storage.sample(pool)
    assert set(sizes) == set(storage.SCHEMAS)
    assert all(n > 0 for n in sizes.values())
    yield fresh_db


async def status(dsn: str, *flags: str) -> str:
    """`consumer status --storage` as the shell runs it (its own event loop, in a thread)."""
    buffer = io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(buffer):
            return main(["status", "--storage", *flags], {"VINOPS_PG_DSN": dsn})

    assert await asyncio.to_thread(run) == 0
    return buffer.getvalue()


async def our_tables(dsn: str) -> set[str]:
    """Every table of our schemas (a partitioned one once, not its partitions)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " AND n.nspname = ANY($1::text[])",
            list(storage.SCHEMAS),
        )
    finally:
        await conn.close()
    return {r[0] for r in rows}


async def test_json_names_every_table_with_its_size_and_rows(written: FreshDb) -> None:
    body = orjson.loads(await status(written.etl_dsn, "--json"))
    assert set(body) == {
        "database_bytes",
        "schemas",
        "tables",
        "growth_per_day",
        "staging",
        "files",
    }
    assert body["database_bytes"] > 0
    assert [s["schema"] for s in body["schemas"]] == sorted(storage.SCHEMAS)
    assert all(s["bytes"] > 0 for s in body["schemas"])
    tables = {t["table"]: t for t in body["tables"]}
    assert set(tables) == await our_tables(written.admin_dsn)  # every one, partitions folded in
    for name in ("raw.contents", "raw.csv_files", "public.lots", "staging.copart_raw"):
        assert tables[name]["bytes"] > 0, name
        assert tables[name]["rows_exact"] is True
    assert tables["raw.contents"]["rows"] == ROWS
    assert tables["public.lots"]["rows"] == ROWS
    assert tables["staging.copart_raw"]["rows"] == ROWS  # partitions counted with their table
    assert next(s for s in body["schemas"] if s["schema"] == "raw")["rows"] > ROWS
    # Growth per day: today's reading (the sample) and the file first seen today.
    today = datetime.now(UTC).date().isoformat()
    (day,) = [d for d in body["growth_per_day"] if d["day"] == today]
    assert day["bytes"] > 0
    assert day["files"] == 1
    assert day["rows_published"] == ROWS
    assert set(day) == {"day", "bytes", "growth_bytes", "files", "csv_bytes", "rows_published"}
    # Staging: who keeps it, and today's partition holds the rows.
    staging = body["staging"]
    assert staging["managed_by"] in {"pg_partman", "consumer"}
    parts = {p["name"]: p for p in staging["partitions"]}
    assert parts[f"copart_raw_p{datetime.now(UTC):%Y_%m_%d}"]["rows"] == ROWS
    assert parts["copart_raw_default"]["lower"] is None
    assert set(parts["copart_raw_default"]) == {"name", "lower", "upper", "bytes", "rows"}
    # Nothing archived yet (migration 0025 tracks it): every file counts as not archived.
    assert body["files"] == {
        "archive_tracked": True,
        "archived": {"files": 0, "bytes": 0, "rows": 0},
        "not_archived": {"files": 1, "bytes": body["files"]["not_archived"]["bytes"], "rows": ROWS},
        "pruned": {"files": 0, "bytes": 0, "rows": 0},
    }


async def test_archived_and_pruned_files_are_told_apart(written: FreshDb) -> None:
    # What `consumer archive` records (migration 0025), set here by hand.
    admin = await asyncpg.connect(written.admin_dsn)
    try:
        await admin.execute(
            "UPDATE raw.csv_files SET archived_at = now(), archive_uri = 'file:///a/x.raw.gz', "
            "archive_sha256 = repeat('a', 64)"
        )
    finally:
        await admin.close()
    files = orjson.loads(await status(written.etl_dsn, "--json"))["files"]
    assert files["archive_tracked"] is True
    assert files["archived"]["files"] == 1
    assert files["pruned"] == {"files": 0, "bytes": 0, "rows": 0}
    admin = await asyncpg.connect(written.admin_dsn)
    try:  # and, once the archive prunes, which archived files it pruned
        await admin.execute("UPDATE raw.csv_files SET pruned_at = now()")
    finally:
        await admin.close()
    files = orjson.loads(await status(written.etl_dsn, "--json"))["files"]
    assert files["archive_tracked"] is True
    assert files["archived"]["files"] == 1
    assert files["archived"]["rows"] == ROWS
    assert files["not_archived"] == {"files": 0, "bytes": 0, "rows": 0}
    assert files["pruned"] == files["archived"]


async def test_text_form_shows_the_same_sections(written: FreshDb) -> None:
    text = await status(written.etl_dsn)
    for heading in (
        "Size per schema", "Size per table", "Growth per day", "Staging partitions", "Raw files",
    ):  # fmt: skip
        assert heading in text
    assert "raw.contents" in text
    assert f"copart_raw_p{datetime.now(UTC):%Y_%m_%d}" in text
    assert "not archived" in text
