"""docs/db-passport.md names every table, view, column, function and role of the schema."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from tests.databases import FreshDb

pytestmark = pytest.mark.integration

PASSPORT = Path(__file__).resolve().parents[2] / "docs" / "db-passport.md"
SCHEMAS = ["public", "raw", "staging", "audit", "ingest"]
SECTION = re.compile(r"^#### `(?P<name>[a-z_]+\.[a-z_]+)`$", re.MULTILINE)
COLUMN_ROW = re.compile(r"^\| `(?P<col>[a-z_0-9]+)` \|", re.MULTILINE)


def documented() -> dict[str, set[str]]:
    """'schema.relation' -> columns listed in its section's table."""
    text = PASSPORT.read_text(encoding="utf-8")
    marks = list(SECTION.finditer(text))
    out: dict[str, set[str]] = {}
    for n, mark in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(text)
        out[mark["name"]] = set(COLUMN_ROW.findall(text, mark.end(), end))
    return out


async def actual(dsn: str) -> dict[str, set[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT n.nspname || '.' || c.relname AS rel, a.attname AS col
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname = ANY($1::text[])
                 AND NOT c.relispartition  -- a partitioned table's days are documented with it
                 AND NOT EXISTS (SELECT 1 FROM pg_depend d  -- extension objects are not ours
                                 WHERE d.objid = c.oid AND d.deptype = 'e')""",
            SCHEMAS,
        )
    finally:
        await conn.close()
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["rel"], set()).add(r["col"])
    return out


async def test_every_table_and_view_is_documented(fresh_db: FreshDb) -> None:
    missing = sorted(set(await actual(fresh_db.admin_dsn)) - set(documented()))
    assert missing == [], f"not in docs/db-passport.md: {', '.join(missing)}"


async def test_every_column_is_documented(fresh_db: FreshDb) -> None:
    docs = documented()
    missing = sorted(
        f"{rel}.{col}"
        for rel, cols in (await actual(fresh_db.admin_dsn)).items()
        for col in cols - docs.get(rel, set())
    )
    assert missing == [], f"columns not in docs/db-passport.md: {', '.join(missing)}"


async def test_nothing_documented_that_does_not_exist(fresh_db: FreshDb) -> None:
    real = await actual(fresh_db.admin_dsn)
    stale = sorted(
        f"{rel}.{col}"
        for rel, cols in documented().items()
        for col in (cols - real[rel] if rel in real else {"*"})
    )
    assert stale == [], f"documented but not in the schema: {', '.join(stale)}"


def test_functions_and_roles_are_named_and_no_secret_is_written() -> None:
    text = PASSPORT.read_text(encoding="utf-8")
    names = [
        "public.normalize_vin(text)",
        "public.vin_check_digit(text)",
        "public.vin_check_digit_ok(text)",
        "**admin**",
        "**etl_rw**",
        "**app_ro**",
    ]
    assert [n for n in names if n not in text] == []
    assert re.search(r"://[^/\s:@]+:(?!\*\*\*@)[^@\s]+@", text) is None  # unmasked password
