"""The sink's SQL: static statements from consumer/store/sql/*.sql, templated ones rendered from the
column lists they upsert. Read and rendered once, at import; a snapshot test
(tests/unit/consumer/store/test_statements.py) shows every rendered statement as PostgreSQL gets it.

Comment lines (``--``) in the files say why a statement is shaped as it is; they are dropped
before rendering, so the server and pg_stat_statements see the statement alone.
"""

from __future__ import annotations

from importlib.resources import files

from consumer.prepare.mapped import LOT_DATA_COLUMNS, VEHICLE_ATTRS
from consumer.store import history_sql as h


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
LOT_DESCRIPTION = h.LOT_DESCRIPTION

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
_LOTS_COLUMNS = {
    "data": ", ".join(LOT_DATA),
    "description": ", ".join(LOT_DESCRIPTION),
    "set_data": ", ".join(f"{c} = EXCLUDED.{c}" for c in (*LOT_DATA, *LOT_DESCRIPTION)),
    "l_values": ", ".join(f"l.{c}" for c in (*LOT_DATA, *LOT_DESCRIPTION)),
    "excluded_values": ", ".join(f"EXCLUDED.{c}" for c in (*LOT_DATA, *LOT_DESCRIPTION)),
    "l_newer": _newer("l"),
}
_NO_TOLD = {"told": "", "told_counts": "0 AS created_events, 0 AS changed_events"}
LOTS = load("lots.sql.tmpl", **_LOTS_COLUMNS, p_old="", l_old="", up_new="", **_NO_TOLD)
# The same statement with the change outbox (history on): the stored and the new values as
# text arrays from plain column references, each event's JSON built from those.
_L_VALUES = h.values_array(lambda c: f"l.{c}")
_UP_NEW = (
    f", {_L_VALUES} AS new_a, l.source_updated_at AS new_su, l.source_digest AS new_digest,"
    " l.source_file_id AS new_file_id, l.source_row_no AS new_row_no,"
    f" CASE WHEN l.xmax = 0 THEN {h.fields_json(lambda c: f'l.{c}')} END AS new_fields"
)
# What created and changed events share (json_build_object: the payload is json, not jsonb).
_COMMON = (
    f"'schema', '{h.EVENT_SCHEMA}', 'id', e.id, 'kind', e.kind, 'lot', e.lot_external_id,"
    f" 'vin', e.vin, 'source_updated_at', {h.utc('e.new_su')},"
    f" 'version', {h.hex_of('e.new_digest')}, 'file_id', e.new_file_id,"
    f" 'row_no', e.new_row_no, 'recorded_at', {h.utc('now()')}"
)
_LOTS_TOLD = f"""
, ev AS MATERIALIZED (
  SELECT up.lot_external_id, up.vin, up.new_a, up.new_su, up.new_digest, up.new_file_id,
         up.new_row_no, up.new_fields, prev.old_a, prev.source_updated_at AS old_su,
         prev.source_digest AS old_digest,
         CASE WHEN up.inserted THEN 'created' ELSE 'changed' END AS kind
  FROM up LEFT JOIN prev ON prev.lot_external_id = up.lot_external_id
  WHERE up.inserted OR up.vals IS DISTINCT FROM prev.vals
), told AS (
  INSERT INTO ingest.lot_changes (event_id, lot_external_id, kind, payload)
  SELECT e.id, e.lot_external_id, e.kind,
         CASE WHEN e.kind = 'created' THEN json_build_object({_COMMON},
           'fields', e.new_fields)
         ELSE json_build_object({_COMMON},
           'previous', json_build_object(
             'source_updated_at', {h.utc("e.old_su")}, 'version', {h.hex_of("e.old_digest")}),
           'changes', {h.changes("e.old_a", "e.new_a")}) END
  FROM (SELECT ev.*, {
    h.event_id(
        "ev.kind",
        "ev.lot_external_id",
        h.utc("ev.old_su"),
        h.hex_of("ev.old_digest"),
        h.hex_of("ev.new_digest"),
    )
} AS id
        FROM ev) e
  ORDER BY e.lot_external_id
  RETURNING kind
)"""
_TOLD_COUNTS = (
    "(SELECT count(*) FROM told WHERE kind = 'created')::int AS created_events,\n"
    "  (SELECT count(*) FROM told WHERE kind = 'changed')::int AS changed_events"
)
LOTS_TOLD = load(
    "lots.sql.tmpl", **_LOTS_COLUMNS, p_old=", p.old_a", l_old=f", {_L_VALUES} AS old_a",
    up_new=_UP_NEW, told=_LOTS_TOLD, told_counts=_TOLD_COUNTS,
)  # fmt: skip
# The batch's versions into public.lot_versions (history on), after LOTS_TOLD.
LOT_VERSIONS = load(
    "lot_versions.sql.tmpl",
    data=h.DATA_OF_BATCH,
    whole=h.whole("v"),
    changed=h.changed_fields("o.prev_data", "o.data"),
    sparse=h.thinned("o.data", "o.next_data"),
)
SIDE_TABLES = load("side_tables.sql.tmpl", s_newer=_newer("s"))
RUNS_AND_OFFSETS = load(
    "runs_and_offsets.sql.tmpl",
    done="COALESCE(EXCLUDED.rows_expected, r.rows_expected)"
    " <= r.rows_processed + EXCLUDED.rows_processed",
)
COMMITTED_OFFSETS = load("committed_offsets.sql")
# ends: the last version of each lot removed or returned (one index probe each); closed
# updates them by their ctids. `ctid = ANY(ARRAY(...))` makes that a TID scan whatever the
# estimates: joined on the lot instead, a few thousand removed lots made the planner hash-join
# them against a sequential scan of the whole history, at every full snapshot's completion.
_FILE_TOLD = f"""
, ends AS (
  SELECT last.at, x.lot_external_id, x.valid_to
  FROM (SELECT r.lot_external_id, f.as_of AS valid_to FROM removed r, f
        UNION ALL SELECT s.lot_external_id, f.as_of FROM still_removed s, f
        UNION ALL SELECT r.lot_external_id, NULL::timestamptz FROM returned r) x
  CROSS JOIN LATERAL (SELECT w.ctid AS at FROM public.lot_versions w
                      WHERE w.lot_external_id = x.lot_external_id
                      ORDER BY w.valid_from DESC, w.version DESC LIMIT 1) last
), closed AS (
  UPDATE public.lot_versions v SET valid_to = e.valid_to
  FROM ends e
  WHERE v.ctid = ANY (ARRAY(SELECT at FROM ends)) AND v.ctid = e.at
    AND v.lot_external_id = e.lot_external_id
    AND (e.valid_to IS NULL OR e.valid_to > v.valid_from)
  RETURNING 1
), told AS (
  INSERT INTO ingest.lot_changes (event_id, lot_external_id, kind, payload)
  SELECT e.id, e.lot_external_id, e.kind,
         json_build_object('schema', '{h.EVENT_SCHEMA}', 'id', e.id, 'kind', e.kind,
           'lot', e.lot_external_id, 'vin', e.vin, 'as_of', {h.utc("e.as_of")},
           'file_id', $1::uuid, 'recorded_at', {h.utc("now()")})
  FROM (SELECT x.*, {h.event_id("x.kind", "x.lot_external_id", h.utc("x.as_of"))} AS id
        FROM (SELECT 'removed' AS kind, r.lot_external_id, r.vin, f.as_of FROM removed r, f
              UNION ALL
              SELECT 'returned', r.lot_external_id, r.vin, f.as_of FROM returned r, f) x) e
  ORDER BY e.lot_external_id, e.kind
  RETURNING kind
)"""
FILE_COMPLETED = load(
    "file_completed.sql.tmpl", told="", told_counts="0 AS removed_events, 0 AS returned_events"
)
FILE_COMPLETED_TOLD = load(
    "file_completed.sql.tmpl", told=_FILE_TOLD,
    told_counts="(SELECT count(*) FROM told WHERE kind = 'removed')::int AS removed_events,\n"
    "       (SELECT count(*) FROM told WHERE kind = 'returned')::int AS returned_events",
)  # fmt: skip
MARK_APPLIED = load("mark_applied.sql")
