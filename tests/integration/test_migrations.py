"""`consumer migrate` against the real PostgreSQL: empty database, re-run, edits, races."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from consumer.admin.migrate_cli import add_migrate_parser, run_migrate
from consumer.store.migrate import default_migrations_dir, load_registry, migrate
from devstack.dsn import dsn_for
from tests.databases import new_database

pytestmark = pytest.mark.integration

REGISTRY = load_registry(default_migrations_dir())
TO_APPLY = [m.id for m in REGISTRY if not m.superseded]
TABLES = {
    "public.vehicles", "public.lots", "public.sale_events", "public.images", "public.lot_versions",
    "raw.csv_files", "raw.rows_legacy", "raw.layouts", "raw.contents", "raw.content_chunks",
    "raw.file_row_blocks", "raw.file_row_notes",
    "staging.copart_raw",
    "audit.vin_conflicts", "audit.parse_errors", "audit.etl_runs",
    "ingest.schema_migrations", "ingest.consumer_offsets", "ingest.dlq_replays",
    "ingest.rebuilds", "ingest.storage_daily", "ingest.lot_changes", "ingest.relay_positions",
}  # fmt: skip
VIEWS = {
    "audit.v_ingest_count",
    "audit.v_unknown_rate",
    "audit.v_parse_errors",
    "raw.v_rows",
    "raw.v_contents",
    "raw.rows",
    "public.v_lot_versions",
    "raw.file_rows",
}


@pytest_asyncio.fixture
async def empty_dsn(pg_admin_dsn: str, pg_superuser_dsn: str) -> AsyncIterator[str]:
    """A new, unmigrated database (from template1), as the admin login."""
    async with new_database(pg_admin_dsn, pg_superuser_dsn, "vinops_m_") as name:
        yield dsn_for(pg_admin_dsn, name)


async def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="consumer")
    add_migrate_parser(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    code = await run_migrate(parser.parse_args(["migrate", *argv]), env or {}, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def query(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def ledger(dsn: str) -> list[str]:
    return [
        r["id"] for r in await query(dsn, "SELECT id FROM ingest.schema_migrations ORDER BY id")
    ]


async def relations(dsn: str, kinds: str) -> set[str]:
    rows = await query(
        dsn,
        f"""SELECT n.nspname || '.' || c.relname AS name FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = ANY('{{{kinds}}}') AND n.nspname IN
                  ('public', 'raw', 'staging', 'audit', 'ingest')
              AND NOT c.relispartition  -- staging.copart_raw's days come and go (0022)
              AND NOT EXISTS (SELECT 1 FROM pg_depend d
                              WHERE d.objid = c.oid AND d.deptype = 'e')""",
    )
    return {r["name"] for r in rows}


async def test_empty_database_gets_every_migration_once(empty_dsn: str) -> None:
    code, out, err = await cli(env={"VINOPS_PG_ADMIN_DSN": empty_dsn})
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"{len(TO_APPLY)} applied, 0 pending"
    assert await ledger(empty_dsn) == TO_APPLY
    assert await relations(empty_dsn, "r,p") == TABLES
    assert await relations(empty_dsn, "v,m") == VIEWS
    rows = await query(empty_dsn, "SELECT DISTINCT applied_by FROM ingest.schema_migrations")
    assert [r["applied_by"] for r in rows] == ["vinops_admin"]
    # A second run is a no-op.
    assert await cli("--dsn", empty_dsn) == (0, "0 applied, 0 pending\n", "")
    assert await ledger(empty_dsn) == TO_APPLY


async def test_superseded_0005_is_never_applied(empty_dsn: str) -> None:
    await cli("--dsn", empty_dsn)
    assert "0005" not in await ledger(empty_dsn)
    rows = await query(empty_dsn, "SELECT normalize_vin('KMHE24LI0HA059207') AS v")
    assert rows[0]["v"] == "KMHE24L10HA059207"  # 0006's rule, not 0005's deletion


async def test_dry_run_and_status_before_and_after(empty_dsn: str) -> None:
    code, out, _ = await cli("--dry-run", "--dsn", empty_dsn)
    assert code == 0
    assert out.splitlines() == [
        *(f"would apply {m.id}  {m.file}" for m in REGISTRY if not m.superseded),
        f"{len(TO_APPLY)} pending",
    ]
    rows = await query(empty_dsn, "SELECT to_regclass('ingest.schema_migrations') AS t")
    assert rows[0]["t"] is None  # a dry run creates nothing, not even the ledger
    code, before, _ = await cli("status", "--dsn", empty_dsn)
    assert (code, before.splitlines()[-1]) == (0, f"{len(TO_APPLY)} pending, 1 superseded")
    await cli("--dsn", empty_dsn)
    code, after, _ = await cli("status", "--dsn", empty_dsn)
    lines = after.splitlines()
    assert (code, lines[-1]) == (0, f"{len(TO_APPLY)} applied, 1 superseded")
    assert lines[0].split()[:3] == ["0001", "applied", "0001_init.sql"]
    assert lines[4].split()[:3] == ["0005", "superseded", "0005_vin_normalized_fix.sql"]


async def test_edited_applied_file_is_refused(empty_dsn: str, tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(default_migrations_dir(), copy)
    assert (await cli("--dsn", empty_dsn, "--migrations-dir", str(copy)))[0] == 0
    edited = copy / "0003_indexes.sql"
    edited.write_text(edited.read_text() + "\n-- an innocent-looking edit\n")
    code, out, err = await cli("--dsn", empty_dsn, "--migrations-dir", str(copy))
    assert (code, out) == (3, "")
    assert len(err.splitlines()) == 1
    assert "0003_indexes.sql" in err
    code, status_out, _ = await cli("status", "--dsn", empty_dsn, "--migrations-dir", str(copy))
    assert code == 3
    assert "0003  changed" in status_out


async def test_failing_migration_rolls_back_and_names_the_file(
    empty_dsn: str, tmp_path: Path
) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(default_migrations_dir(), copy)
    entries = json.loads((copy / "_registry.json").read_text())
    next_id = f"{int(entries[-1]['id']) + 1:04d}"
    bad = f"{next_id}_broken.sql"
    (copy / bad).write_text("CREATE TABLE public.half_done (x int);\nSELECT 1/0;\n")
    entries.append(
        {"id": next_id, "file": bad, "purpose": "t", "rollback": "t", "superseded": False}
    )
    (copy / "_registry.json").write_text(json.dumps(entries))
    code, _, err = await cli("--dsn", empty_dsn, "--migrations-dir", str(copy))
    assert code == 4
    assert bad in err
    assert "22012" in err  # division_by_zero
    assert await ledger(empty_dsn) == TO_APPLY  # the good ones stay applied
    rows = await query(empty_dsn, "SELECT to_regclass('public.half_done') AS t")
    assert rows[0]["t"] is None


async def test_two_runners_at_once_apply_everything_once(empty_dsn: str) -> None:
    first, second = await asyncpg.connect(empty_dsn), await asyncpg.connect(empty_dsn)
    try:
        results = await asyncio.gather(migrate(first, REGISTRY), migrate(second, REGISTRY))
    finally:
        await first.close()
        await second.close()
    assert sorted(len(r.applied) for r in results) == [0, len(TO_APPLY)]
    assert await ledger(empty_dsn) == TO_APPLY


async def test_a_second_database_on_the_same_server_migrates_too(
    empty_dsn: str, pg_admin_dsn: str, pg_superuser_dsn: str
) -> None:
    assert (await cli("--dsn", empty_dsn))[0] == 0
    async with new_database(pg_admin_dsn, pg_superuser_dsn, "vinops_m_") as other:
        other_dsn = dsn_for(pg_admin_dsn, other)
        assert (await cli("--dsn", other_dsn))[0] == 0  # the cluster-wide roles exist already
        assert await ledger(other_dsn) == TO_APPLY
    rows = await query(
        empty_dsn,
        "SELECT rolname, rolcanlogin FROM pg_roles "
        "WHERE rolname IN ('admin', 'etl_rw', 'app_ro') ORDER BY rolname",
    )
    assert [tuple(r) for r in rows] == [("admin", False), ("app_ro", False), ("etl_rw", False)]


async def test_missing_dsn_is_a_configuration_error() -> None:
    code, out, err = await cli(env={})
    assert (code, out) == (2, "")
    assert "VINOPS_PG_ADMIN_DSN" in err


async def test_env_dsn_fallback_and_masked_connection_error(pg_admin_dsn: str) -> None:
    wrong = pg_admin_dsn.replace("://vinops_admin:", "://vinops_admin:Secret-Wrong-", 1)
    assert wrong != pg_admin_dsn
    code, out, err = await cli(env={"VINOPS_PG_DSN": wrong})
    assert (code, out) == (5, "")
    assert "Secret-Wrong-" not in err
    assert "***" in err
