"""Upgrade across the lot history migration: a database filled by the consumer before it (no
history: ``Sink(history=False)`` writes what main's consumer wrote), migrated, keeps its core
unchanged and gains an empty history; ``consumer rebuild --all`` then fills the history from
the raw layer, equal to the history a fresh ingest with history on gives, and emits no change
event (no lot changes). New batches after the upgrade write versions and events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import asyncpg
import pytest
import pytest_asyncio

from consumer.admin.rebuild import Selection
from consumer.intake.records import Inbound
from consumer.store.migrate import default_migrations_dir, load_registry, migrate
from devstack.dsn import dsn_for
from tests.coredump import core, history, ingest
from tests.databases import Server, new_database
from tests.integration.test_merge_rule import messages_of
from tests.integration.test_rebuild import run_rebuild, sample_messages

pytestmark = pytest.mark.integration

REGISTRY = load_registry(default_migrations_dir())
# Looked up by file name once: the lead may renumber the migration at merge.
HISTORY_MIGRATION = next(m.id for m in REGISTRY if m.file.endswith("_lot_history.sql"))
BEFORE = max(m.id for m in REGISTRY if m.id < HISTORY_MIGRATION)

# Several versions of a few lots over two files, out of order: a history worth rebuilding.
VERSIONS = [
    ("301", "2021-01-02T00:00:00Z", "4JGBF7BE5AA585531", "FORD", "20200702", "275.0"),
    ("301", "2021-01-01T00:00:00Z", "4JGBF7BE5AA585531", "FORD", "0", "0"),
    ("302", "2021-01-03T00:00:00Z", "", "KIA", "20200709", "300.0"),
    ("301", "2021-01-03T00:00:00Z", "5TDYZ3DCXHS795095", "", "20200709", "300.0"),
    ("302", "2021-01-01T00:00:00Z", "", "KIA", "0", "0"),
    ("303", "2021-01-02T00:00:00Z", "5N1DL0MM5KC******", "FORD", "0", "275.0"),
]


def messages() -> list[Inbound]:
    generated = messages_of(VERSIONS)
    samples = sample_messages()
    return [*samples, *(replace(m, offset=len(samples) + i) for i, m in enumerate(generated))]


@dataclass(frozen=True, slots=True)
class Upgraded:
    admin_dsn: str
    etl_dsn: str
    core_before: list[tuple[str, str]]


@pytest_asyncio.fixture
async def upgraded(
    pg_admin_dsn: str, pg_superuser_dsn: str, pg_dsn: str
) -> AsyncIterator[Upgraded]:
    async with new_database(pg_admin_dsn, pg_superuser_dsn, "vinops_uhist_") as name:
        admin_dsn, etl_dsn = dsn_for(pg_admin_dsn, name), dsn_for(pg_dsn, name)
        conn = await asyncpg.connect(admin_dsn)
        try:
            await migrate(conn, REGISTRY, target=BEFORE)
            await ingest(etl_dsn, messages(), 7, history=False)
            before = await core(admin_dsn)
            applied = await migrate(conn, REGISTRY)
            assert [m.id for m in applied.applied] == [m.id for m in REGISTRY if m.id > BEFORE]
        finally:
            await conn.close()
        yield Upgraded(admin_dsn, etl_dsn, before)


async def _count(dsn: str, query: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(query))
    finally:
        await conn.close()


async def test_the_migration_keeps_the_core_and_a_rebuild_fills_the_history(
    upgraded: Upgraded, pg_server: Server
) -> None:
    assert await core(upgraded.admin_dsn) == upgraded.core_before
    assert await history(upgraded.admin_dsn) == []

    done = await run_rebuild(upgraded.etl_dsn, Selection())
    assert done.lots_changed == 0  # type: ignore[attr-defined]
    assert await core(upgraded.admin_dsn) == upgraded.core_before
    assert await _count(upgraded.admin_dsn, "SELECT count(*) FROM ingest.lot_changes") == 0

    async with pg_server.fresh() as fresh:
        await ingest(fresh.etl_dsn, messages(), 7)
        expected = await history(fresh.admin_dsn)
    rebuilt = await history(upgraded.admin_dsn)
    assert len(rebuilt) > len({row[0] for row in rebuilt})  # lots with several versions
    assert rebuilt == expected

    # A rebuild of a database whose history is complete writes nothing more.
    again = await run_rebuild(upgraded.etl_dsn, Selection())
    assert again.lots_changed == 0  # type: ignore[attr-defined]
    assert await history(upgraded.admin_dsn) == expected


async def test_after_the_upgrade_new_batches_write_versions_and_events(upgraded: Upgraded) -> None:
    newer = messages_of([("301", "2021-02-01T00:00:00Z", "4JGBF7BE5AA585531", "KIA", "0", "1.0")])
    await ingest(upgraded.etl_dsn, [replace(m, offset=10_000) for m in newer])
    conn = await asyncpg.connect(upgraded.admin_dsn)
    try:
        kinds = await conn.fetch("SELECT kind, payload FROM ingest.lot_changes")
        versions = await conn.fetchval(
            "SELECT count(*) FROM public.lot_versions WHERE lot_external_id = '301'"
        )
    finally:
        await conn.close()
    assert [k["kind"] for k in kinds] == ["changed"]
    assert versions == 1  # the history before it comes with `consumer rebuild --all`
