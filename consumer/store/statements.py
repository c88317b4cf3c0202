"""The sink's SQL: static statements from consumer/store/sql/*.sql, templated ones rendered from the
column lists they upsert. Read and rendered once, at import; a snapshot test
(tests/unit/consumer/store/test_statements.py) shows every rendered statement as PostgreSQL gets it.

Comment lines (``--``) in the files say why a statement is shaped as it is; they are dropped
before rendering, so the server and pg_stat_statements see the statement alone.
"""

from __future__ import annotations

from importlib.resources import files

from consumer.prepare.mapped import LOT_DATA_COLUMNS, VEHICLE_ATTRS


def load(name: str, **columns: str) -> str:
    """consumer/store/sql/``name`` without its comment lines; ``.tmpl`` files are formatted."""
    text = (files("consumer.store") / "sql" / name).read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return (body.format(**columns) if name.endswith(".tmpl") else body).strip() + "\n"


def _newer(table: str) -> str:
    """Last write wins: a newer source time, or the same time and a larger version digest (a
    rule that needs no arrival order; a version stored before the digest existed sorts lowest)."""
    return (
        f"({table}.source_updated_at, COALESCE({table}.source_digest, ''::bytea))"
        " < (EXCLUDED.source_updated_at, EXCLUDED.source_digest)"
    )


FILL = ("path", "bytes", "headers_jsonb", "dialect", "encoding", "rows_published",
        "malformed_rows", "started_at", "completed_at", "full_snapshot")  # fmt: skip
LOT_DATA = LOT_DATA_COLUMNS  # lot_external_id, vin, vin_raw are set apart
# Copied onto the lot from the batch's vehicle columns: VIN-less lots are described too.
LOT_DESCRIPTION = ("year", "make", "model_group", "model_detail")

FILES_CREATE = load("files_create.sql")
FILES_FILL = load(
    "files_fill.sql.tmpl",
    fill_set=", ".join(f"{c} = COALESCE(EXCLUDED.{c}, f.{c})" for c in FILL),
    fill_stored=", ".join(f"f.{c}" for c in FILL),
    fill_new=", ".join(f"COALESCE(EXCLUDED.{c}, f.{c})" for c in FILL),
)
CONTENTS_AND_STAGING = load("contents_and_staging.sql")
REFERENCES_WRITE = load("references_write.sql")
FLIP_APPLIED = load("flip_applied.sql")
KNOWN_CONTENTS = load("known_contents.sql")
LAYOUT = load("layout.sql")
VEHICLES = load(
    "vehicles.sql.tmpl",
    attrs=", ".join(VEHICLE_ATTRS),
    attrs_set=", ".join(f"{c} = EXCLUDED.{c}" for c in VEHICLE_ATTRS),
    v_attrs=", ".join(f"v.{c}" for c in VEHICLE_ATTRS),
    excluded_attrs=", ".join(f"EXCLUDED.{c}" for c in VEHICLE_ATTRS),
    v_newer=_newer("v"),
)
LOTS = load(
    "lots.sql.tmpl",
    data=", ".join(LOT_DATA),
    description=", ".join(LOT_DESCRIPTION),
    set_data=", ".join(f"{c} = EXCLUDED.{c}" for c in (*LOT_DATA, *LOT_DESCRIPTION)),
    l_values=", ".join(f"l.{c}" for c in (*LOT_DATA, *LOT_DESCRIPTION)),
    excluded_values=", ".join(f"EXCLUDED.{c}" for c in (*LOT_DATA, *LOT_DESCRIPTION)),
    l_newer=_newer("l"),
)
SIDE_TABLES = load("side_tables.sql.tmpl", s_newer=_newer("s"))
RUNS_AND_OFFSETS = load(
    "runs_and_offsets.sql.tmpl",
    done="COALESCE(EXCLUDED.rows_expected, r.rows_expected)"
    " <= r.rows_processed + EXCLUDED.rows_processed",
)
COMMITTED_OFFSETS = load("committed_offsets.sql")
FILE_COMPLETED = load("file_completed.sql")
MARK_APPLIED = load("mark_applied.sql")
