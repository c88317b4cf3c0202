"""The generated statements of the sink as PostgreSQL receives them, kept in rendered_sql/ (a
snapshot); the static ones are their .sql files as they are.

A change to a template or to a column list shows here as a diff of the rendered statement.
After a deliberate change, rewrite them: VINOPS_UPDATE_SQL_SNAPSHOTS=1 pytest <this file>
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consumer.store import batch_table, statements

SNAPSHOTS = Path(__file__).parent / "rendered_sql"
STATEMENTS = {
    name.lower(): value
    for name, value in vars(statements).items()
    if name.isupper() and isinstance(value, str) and value.endswith("\n")
}
SQL_DIR = Path(statements.__file__).parent / "sql"
RENDERED = {
    **{name: text for name, text in STATEMENTS.items() if (SQL_DIR / f"{name}.sql.tmpl").exists()},
    "create_batch_table": batch_table.CREATE_BATCH_TABLE,
    # The same templates with the lot history and change outbox rendered in.
    "lots_told": statements.LOTS_TOLD,
    "file_completed_told": statements.FILE_COMPLETED_TOLD,
}


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_rendered_statement_matches_its_snapshot(name: str) -> None:
    path = SNAPSHOTS / f"{name}.sql"
    rendered = RENDERED[name].strip() + "\n"
    if os.environ.get("VINOPS_UPDATE_SQL_SNAPSHOTS") == "1":
        path.write_text(rendered, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == rendered


def test_every_snapshot_is_a_statement_of_today() -> None:
    assert {p.stem for p in SNAPSHOTS.glob("*.sql")} == set(RENDERED)


def test_comment_lines_never_reach_the_server() -> None:
    for name, text in {**STATEMENTS, **RENDERED}.items():
        assert not any(line.lstrip().startswith("--") for line in text.splitlines()), name


def test_every_sql_file_is_loaded() -> None:
    used = {p.name for p in SQL_DIR.iterdir() if p.suffix in {".sql", ".tmpl"}}
    source = Path(statements.__file__).read_text(encoding="utf-8")
    assert {name for name in used if f'"{name}"' in source} == used
