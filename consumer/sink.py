"""ALL the consumer's write SQL: one batch = one transaction = about ten round trips.

Shape: COPY the batch's row messages into one wide temp table, then set-based
INSERT ... SELECT ... ON CONFLICT statements read from it; small per-batch lists (files,
images, parse errors, offsets) travel as array parameters (unnest). Row order in every
INSERT ... SELECT is deterministic (ORDER BY the conflict key) so two consumers writing
shared rows (vehicles, runs) lock them in the same order and cannot deadlock each other.

Every look-up of stored rows by a batch key (a lot's stored version and id, a VIN's stored
spelling) is a LATERAL subquery with OFFSET 0, which the planner cannot turn into a hash
join: one index probe per batch row. A join would seq-scan the whole table once per batch
(the temp table has no statistics), a cost that grows with the table, not the batch.

Isolation is READ COMMITTED on purpose: every write is an upsert that re-checks the stored
row (ON CONFLICT ... WHERE stored version < new version), which is exactly what a second
consumer needs; REPEATABLE READ would turn each such overlap into a serialization failure.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from consumer.errors import IngestError, TransientError, translate_pg
from consumer.mapping import LOT_COLUMNS, VEHICLE_ATTRS
from consumer.prepare import PreparedBatch, RawRow

# --- the temp table -------------------------------------------------------------------
_LOT_TYPES: Mapping[str, str] = {
    "yard_number": "integer", "item_number": "integer", "sale_date": "date",
    "sale_time_hhmm": "smallint", "auction_datetime_utc": "timestamptz", "has_keys": "boolean",
    "odometer": "integer", "est_retail_value": "numeric(14,2)", "repair_cost": "numeric(14,2)",
    "high_bid": "numeric(14,2)", "buy_it_now_price": "numeric(14,2)",
    "make_offer_eligible": "boolean", "source_created_at": "timestamp",
    "source_updated_at": "timestamptz",
}  # fmt: skip
_VEHICLE_TYPES: Mapping[str, str] = {"year": "smallint", "cylinders": "smallint"}
_BATCH_SPEC: tuple[tuple[str, str], ...] = (
    ("file_id", "uuid"), ("row_no", "integer"), ("kind", "text"), ("lot_external_id", "text"),
    ("digest", "bytea"), ("content_kind", "text"), ("layout_id", "integer"), ("body", "json"),
    ("chunk_no", "integer"), ("chunk_pos", "smallint"),
    ("vin_raw", "text"), ("vin_normalized", "text"), ("su_real", "timestamptz"),
    ("fields_total", "smallint"), ("fields_unknown", "smallint"),
    ("lot_win", "boolean"), ("veh_win", "boolean"), ("sale_win", "boolean"),
    ("vin_flag", "text"), ("veh_vin_raw", "text"), ("check_digit_ok", "boolean"),
    *((c, _VEHICLE_TYPES.get(c, "text")) for c in VEHICLE_ATTRS),
    *((c, _LOT_TYPES.get(c, "text")) for c in LOT_COLUMNS[3:]),
)  # fmt: skip
BATCH_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _BATCH_SPEC)
# Every physical row, known content or not: the narrow table behind raw.file_rows.
_REFS_SPEC: tuple[tuple[str, str], ...] = (
    ("file_id", "uuid"), ("row_no", "integer"), ("kind", "text"), ("lot_external_id", "text"),
    ("digest", "bytea"), ("parse_error", "text"), ("kafka_partition", "integer"),
    ("kafka_offset", "bigint"),
)  # fmt: skip
REFS_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _REFS_SPEC)
# Created once per session, emptied by every COMMIT: no catalog churn per batch. Sent as
# one simple-query message together with the transaction's work_mem (sorts stay in memory).
CREATE_BATCH_TABLE = (
    "SET LOCAL work_mem = '32MB'; "
    "CREATE TEMP TABLE IF NOT EXISTS vinops_batch ("
    + ", ".join(f"{n} {t}" for n, t in _BATCH_SPEC)
    + ") ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS vinops_refs ("
    + ", ".join(f"{n} {t}" for n, t in _REFS_SPEC)
    + ") ON COMMIT DELETE ROWS"
)

# --- files ----------------------------------------------------------------------------
# Row headers only create the file row (DO NOTHING takes no lock on an existing row, so
# consumers of one file do not queue behind each other); file events fill its columns.
SQL_FILES_CREATE = """
INSERT INTO raw.csv_files (file_id, sha256, dialect, encoding)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) ORDER BY 1
ON CONFLICT DO NOTHING
"""
_FILL = ("path", "bytes", "headers_jsonb", "dialect", "encoding", "rows_published",
         "malformed_rows", "started_at", "completed_at")  # fmt: skip
SQL_FILES_FILL = f"""
INSERT INTO raw.csv_files AS f (file_id, sha256, dialect, encoding, path, bytes, headers_jsonb,
                                rows_published, malformed_rows, started_at, completed_at)
SELECT i, s, d, e, p, b, h::jsonb, rp, mr, sa, ca
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
            $7::text[], $8::int[], $9::int[], $10::timestamptz[], $11::timestamptz[])
     AS x(i, s, d, e, p, b, h, rp, mr, sa, ca)
ORDER BY i
ON CONFLICT (file_id) DO UPDATE SET
  {", ".join(f"{c} = COALESCE(EXCLUDED.{c}, f.{c})" for c in _FILL)}
WHERE ({", ".join(f"f.{c}" for c in _FILL)})
      IS DISTINCT FROM ({", ".join(f"COALESCE(EXCLUDED.{c}, f.{c})" for c in _FILL)})
"""

# --- raw + staging --------------------------------------------------------------------
# New contents first: their bodies 32 to a chunk (PostgreSQL compresses only values over
# ~2 KB; one row's ~0.7 KB of values is below that, 32 of them compress to ~45% with lz4),
# then a content row per digest pointing into its chunk, then a reference for every
# physical row. The batch carries each body once, and none that is already stored. A
# content stored as 'malformed' (a row the database refused before) that maps now is
# flipped to 'row': kind = 'row' means applied.
# No ORDER BY on the references: they are COPYed sorted by (file_id, row_no).
CHUNK_ROWS = 32
SQL_RAW_AND_STAGING = """
WITH ids AS (
  SELECT chunk_no, nextval(pg_get_serial_sequence('raw.content_chunks', 'chunk_id')) AS chunk_id
  FROM (SELECT DISTINCT chunk_no FROM vinops_batch WHERE body IS NOT NULL) x
), chunks AS (
  INSERT INTO raw.content_chunks (chunk_id, bodies)
  SELECT ids.chunk_id, x.bodies
  FROM (SELECT chunk_no, array_agg(body::text ORDER BY chunk_pos) AS bodies
        FROM vinops_batch WHERE body IS NOT NULL GROUP BY chunk_no) x
  JOIN ids USING (chunk_no)
), con AS (
  INSERT INTO raw.contents AS c (digest, kind, layout_id, chunk_id, pos, fields_total,
                                 fields_unknown, source_updated_at)
  SELECT b.digest, b.content_kind, b.layout_id, ids.chunk_id, b.chunk_pos, b.fields_total,
         b.fields_unknown, b.su_real
  FROM vinops_batch b JOIN ids USING (chunk_no)
  WHERE b.body IS NOT NULL
  ON CONFLICT (digest) DO UPDATE SET
    kind = EXCLUDED.kind, layout_id = EXCLUDED.layout_id, chunk_id = EXCLUDED.chunk_id,
    pos = EXCLUDED.pos, fields_total = EXCLUDED.fields_total,
    fields_unknown = EXCLUDED.fields_unknown, source_updated_at = EXCLUDED.source_updated_at
  WHERE c.kind <> 'row' AND EXCLUDED.kind = 'row'
), stg AS (
  INSERT INTO staging.copart_raw (file_id, row_no, window_start_utc, lot_external_id, vin_raw,
                                  vin_normalized, source_updated_at, fields_total, fields_unknown)
  SELECT file_id, row_no, date_trunc('hour', COALESCE(su_real, now()), 'UTC'), lot_external_id,
         vin_raw, vin_normalized, su_real, fields_total, fields_unknown
  FROM vinops_batch WHERE kind = 'row' AND lot_external_id IS NOT NULL
  ON CONFLICT (file_id, row_no) DO NOTHING
), ins AS (
  INSERT INTO raw.file_rows (file_id, row_no, kind, lot_external_id, digest, parse_error,
                             kafka_partition, kafka_offset)
  SELECT file_id, row_no, kind, lot_external_id, digest, parse_error, kafka_partition,
         kafka_offset
  FROM vinops_refs
  ON CONFLICT (file_id, row_no) DO NOTHING
  RETURNING file_id, kind
)
SELECT file_id, count(*)::int AS n, (count(*) FILTER (WHERE kind = 'malformed'))::int AS bad
FROM ins GROUP BY file_id
"""

# A content stored as 'malformed' (refused before) that maps now: rare, so its own statement,
# run only when the batch has one (an UPDATE ... FROM the temp table may scan raw.contents).
SQL_FLIP_APPLIED = """
UPDATE raw.contents c SET kind = 'row', fields_total = x.ft, fields_unknown = x.fu,
       source_updated_at = x.su
FROM unnest($1::bytea[], $2::smallint[], $3::smallint[], $4::timestamptz[]) AS x(d, ft, fu, su)
WHERE c.digest = x.d AND c.kind <> 'row'
"""

# Contents already stored; the applied ones ('row') need no decode, mapping or core write.
SQL_KNOWN_CONTENTS = """
SELECT digest, kind, fields_total, fields_unknown FROM raw.contents
WHERE digest = ANY($1::bytea[])
"""
# Autocommitted before the batch's transaction, so a cached id never names a rolled-back row.
SQL_LAYOUT = """
WITH x AS (SELECT sha256(convert_to(array_to_json($1::text[])::text, 'UTF8')) AS digest),
ins AS (
  INSERT INTO raw.layouts (digest, names) SELECT digest, $1::text[] FROM x
  ON CONFLICT (digest) DO NOTHING RETURNING layout_id
)
SELECT layout_id FROM ins
UNION ALL SELECT l.layout_id FROM raw.layouts l JOIN x ON l.digest = x.digest
LIMIT 1
"""

# Last write wins: a newer source time, or the same time and a larger content digest (a rule
# that needs no arrival order; a version stored before the digest existed sorts lowest).
_NEWER = (
    "({t}.source_updated_at, COALESCE({t}.source_digest, ''::bytea))"
    " < (EXCLUDED.source_updated_at, EXCLUDED.source_digest)"
)

# --- vehicles -------------------------------------------------------------------------
# vin_raw keeps the first spelling ever seen; attributes are LWW, and an unknown (NULL) value
# never erases a known one: a vehicle's make does not become unknown.
SQL_VEHICLES = f"""
INSERT INTO public.vehicles AS v (vin, vin_raw, check_digit_ok, {", ".join(VEHICLE_ATTRS)},
                                  source_updated_at, source_digest)
SELECT vin_normalized, veh_vin_raw, check_digit_ok, {", ".join(VEHICLE_ATTRS)}, source_updated_at,
       digest
FROM vinops_batch WHERE veh_win ORDER BY vin_normalized
ON CONFLICT (vin) DO UPDATE SET
  {", ".join(f"{c} = COALESCE(EXCLUDED.{c}, v.{c})" for c in VEHICLE_ATTRS)},
  check_digit_ok = EXCLUDED.check_digit_ok,
  source_updated_at = EXCLUDED.source_updated_at,
  source_digest = EXCLUDED.source_digest,
  updated_at = now()
WHERE v.source_updated_at IS NULL OR {_NEWER.format(t="v")}
"""

# --- lots -----------------------------------------------------------------------------
_LOT_DATA = LOT_COLUMNS[3:]
# Copied onto the lot from the batch's vehicle columns: VIN-less lots are described too.
_LOT_DESCRIPTION = ("year", "make", "model_group", "model_detail")
# prev: the stored versions before this statement (all CTEs share one snapshot), used to
# tell 'unchanged' (equal version) from 'stale' and to record a changed VIN.
# A newer version without a usable VIN keeps the stored VIN: unknown is not a change.
SQL_LOTS = f"""
WITH prev AS (
  SELECT b.lot_external_id, p.vin, p.source_updated_at, p.source_digest
  FROM vinops_batch b
  CROSS JOIN LATERAL (SELECT l.vin, l.source_updated_at, l.source_digest FROM public.lots l
                      WHERE l.lot_external_id = b.lot_external_id OFFSET 0) p
  WHERE b.lot_win
), up AS (
  INSERT INTO public.lots AS l (lot_external_id, vin, vin_raw, {", ".join(_LOT_DATA)},
                                {", ".join(_LOT_DESCRIPTION)}, source_file_id, source_row_no,
                                source_digest)
  SELECT lot_external_id, vin_normalized, vin_raw, {", ".join(_LOT_DATA)},
         {", ".join(_LOT_DESCRIPTION)}, file_id, row_no, digest
  FROM vinops_batch WHERE lot_win ORDER BY lot_external_id
  ON CONFLICT (lot_external_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in (*_LOT_DATA, *_LOT_DESCRIPTION))},
    vin = COALESCE(EXCLUDED.vin, l.vin),
    vin_raw = CASE WHEN EXCLUDED.vin IS NULL AND l.vin IS NOT NULL THEN l.vin_raw
                   ELSE EXCLUDED.vin_raw END,
    source_file_id = EXCLUDED.source_file_id,
    source_row_no = EXCLUDED.source_row_no,
    source_digest = EXCLUDED.source_digest,
    updated_at = now()
  WHERE {_NEWER.format(t="l")}
  RETURNING l.lot_external_id, l.vin, (l.xmax = 0) AS inserted
), changed AS (
  INSERT INTO audit.vin_conflicts (vin_raw, vin_normalized, lot_external_id, conflict_reason,
                                   previous_value, file_id, row_no)
  SELECT b.vin_raw, up.vin, up.lot_external_id, 'lot_vin_changed', prev.vin, b.file_id, b.row_no
  FROM up
  JOIN prev ON prev.lot_external_id = up.lot_external_id
  JOIN vinops_batch b ON b.lot_external_id = up.lot_external_id AND b.lot_win
  WHERE NOT up.inserted AND prev.vin IS NOT NULL AND up.vin IS DISTINCT FROM prev.vin
  ORDER BY b.file_id, b.row_no
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT
  (SELECT count(*) FROM up WHERE inserted)::int AS inserted,
  (SELECT count(*) FROM up WHERE NOT inserted)::int AS updated,
  (SELECT count(*) FROM vinops_batch b JOIN prev ON prev.lot_external_id = b.lot_external_id
    WHERE b.lot_win AND prev.source_updated_at = b.source_updated_at
      AND prev.source_digest IS NOT DISTINCT FROM b.digest
      AND NOT EXISTS (SELECT 1 FROM up WHERE up.lot_external_id = b.lot_external_id))::int
    AS unchanged,
  (SELECT count(*) FROM changed)::int AS vin_changed
"""

# --- sale events, images, VIN conflicts, parse errors ---------------------------------
# spelling_differs compares with vehicles AFTER this batch's upsert: vin_raw is never updated,
# so the stored spelling is the first one seen, in an earlier batch or earlier in this one.
SQL_SIDE_TABLES = f"""
WITH se AS (
  INSERT INTO public.sale_events AS s (lot_id, vin, sale_date, auction_datetime_utc, status,
                                       final_bid, currency_code, source_updated_at, source_digest)
  SELECT l.id, b.vin_normalized, b.sale_date, b.auction_datetime_utc, b.status, b.high_bid,
         b.currency_code, b.source_updated_at, b.digest
  FROM vinops_batch b
  CROSS JOIN LATERAL (SELECT id FROM public.lots WHERE lot_external_id = b.lot_external_id
                      OFFSET 0) l
  WHERE b.sale_win ORDER BY l.id, b.sale_date
  ON CONFLICT (lot_id, sale_date) DO UPDATE SET
    vin = COALESCE(EXCLUDED.vin, s.vin),
    auction_datetime_utc = EXCLUDED.auction_datetime_utc,
    status = EXCLUDED.status,
    final_bid = EXCLUDED.final_bid,
    currency_code = EXCLUDED.currency_code,
    source_updated_at = EXCLUDED.source_updated_at,
    source_digest = EXCLUDED.source_digest,
    updated_at = now()
  WHERE {_NEWER.format(t="s")}
  RETURNING 1
), im AS (
  INSERT INTO public.images (lot_id, vin, kind, url, storage_key)
  SELECT l.id, l.vin, x.kind, x.url, x.storage_key
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(lot, kind, url, storage_key)
  CROSS JOIN LATERAL (SELECT id, vin FROM public.lots WHERE lot_external_id = x.lot OFFSET 0) l
  ORDER BY l.id, x.kind, x.storage_key
  ON CONFLICT (lot_id, kind, storage_key) DO NOTHING
  RETURNING 1
), vc AS (
  INSERT INTO audit.vin_conflicts (vin_raw, vin_normalized, lot_external_id, conflict_reason,
                                   previous_value, file_id, row_no)
  SELECT * FROM (
    SELECT b.vin_raw, b.vin_normalized, b.lot_external_id, b.vin_flag, NULL::text,
           b.file_id, b.row_no
    FROM vinops_batch b WHERE b.vin_flag IS NOT NULL
    UNION ALL
    SELECT b.vin_raw, b.vin_normalized, b.lot_external_id, 'spelling_differs', v.vin_raw,
           b.file_id, b.row_no
    FROM vinops_batch b
    CROSS JOIN LATERAL (SELECT vin_raw FROM public.vehicles WHERE vin = b.vin_normalized
                        OFFSET 0) v
    WHERE v.vin_raw <> b.vin_raw
  ) c ORDER BY 6, 7, 4
  ON CONFLICT (file_id, row_no, conflict_reason) DO NOTHING
  RETURNING conflict_reason
), pe AS (
  INSERT INTO audit.parse_errors (dedup_key, file_id, row_no, lot_external_id, reason, message,
                                  raw, kafka_topic, kafka_partition, kafka_offset, consumer)
  SELECT k, f, r, l, re, m, rw, t, p, o, $15
  FROM unnest($5::text[], $6::uuid[], $7::int[], $8::text[], $9::text[], $10::text[],
              $11::text[], $12::text[], $13::int[], $14::bigint[])
       AS x(k, f, r, l, re, m, rw, t, p, o)
  ORDER BY k
  ON CONFLICT (dedup_key) DO NOTHING
  RETURNING dedup_key
)
SELECT (SELECT count(*) FROM se)::int AS sale_events,
       (SELECT count(*) FROM im)::int AS images,
       (SELECT array_agg(conflict_reason) FROM vc) AS conflicts,
       (SELECT array_agg(dedup_key) FROM pe) AS parse_errors
"""

# --- runs + offsets -------------------------------------------------------------------
# A run completes when every published row of its file is recorded (rows_processed counts
# raw.file_rows inserted + rejected rows, each exactly once since both inserts are idempotent).
# 'failed' on an 'aborted' event unless already completed. GREATEST on offsets: a zombie
# batch after a rebalance can never move a partition back.
_DONE = (
    "COALESCE(EXCLUDED.rows_expected, r.rows_expected)"
    " <= r.rows_processed + EXCLUDED.rows_processed"
)
SQL_RUNS_AND_OFFSETS = f"""
WITH prev AS (
  SELECT run_id, status FROM audit.etl_runs WHERE run_id = ANY($1::uuid[])
), up AS (
  INSERT INTO audit.etl_runs AS r (run_id, file_id, status, rows_expected, rows_processed,
                                   errors, started_at, completed_at)
  SELECT x.id, x.id,
         CASE WHEN x.expected <= x.processed THEN 'completed'
              WHEN x.aborted THEN 'failed' ELSE 'started' END,
         x.expected, x.processed, x.errors, COALESCE(x.started_at, now()),
         CASE WHEN x.expected <= x.processed THEN now() END
  FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::bool[], $6::timestamptz[])
       AS x(id, expected, processed, errors, aborted, started_at)
  ORDER BY x.id
  ON CONFLICT (run_id) DO UPDATE SET
    rows_expected = COALESCE(EXCLUDED.rows_expected, r.rows_expected),
    rows_processed = r.rows_processed + EXCLUDED.rows_processed,
    errors = r.errors + EXCLUDED.errors,
    status = CASE WHEN r.status = 'completed' OR {_DONE} THEN 'completed'
                  WHEN EXCLUDED.status = 'failed' THEN 'failed'
                  ELSE r.status END,
    completed_at = CASE WHEN r.status <> 'completed' AND {_DONE} THEN now()
                        ELSE r.completed_at END
  WHERE EXCLUDED.rows_processed > 0 OR EXCLUDED.errors > 0
     OR (EXCLUDED.rows_expected IS NOT NULL
         AND EXCLUDED.rows_expected IS DISTINCT FROM r.rows_expected)
     OR (EXCLUDED.status = 'failed' AND r.status = 'started')
  RETURNING r.run_id, r.status
), off AS (
  INSERT INTO ingest.consumer_offsets AS o (group_id, topic, partition, next_offset)
  SELECT $7, t, p, n FROM unnest($8::text[], $9::int[], $10::bigint[]) AS x(t, p, n)
  ORDER BY t, p
  ON CONFLICT (group_id, topic, partition) DO UPDATE SET
    next_offset = GREATEST(o.next_offset, EXCLUDED.next_offset), updated_at = now()
  WHERE o.next_offset < EXCLUDED.next_offset
)
SELECT up.status FROM up LEFT JOIN prev ON prev.run_id = up.run_id
WHERE prev.status IS DISTINCT FROM up.status
"""

SQL_COMMITTED_OFFSETS = """
SELECT partition, next_offset FROM ingest.consumer_offsets
WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])
"""

_PG_ERRORS = (
    asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError,
    TimeoutError,
)  # fmt: skip


@dataclass(frozen=True)
class BatchOutcome:
    rows: Mapping[str, int]  # inserted|updated|unchanged|stale
    parse_errors: Mapping[str, int]  # reason -> newly recorded
    conflicts: Mapping[str, int]  # kind -> newly recorded
    fields_total: int
    fields_unknown: int
    runs: Mapping[str, int]  # status transitions: started|completed|failed
    raw_rows_inserted: int
    newest_timestamp_ms: int | None


def _vin_flag(row: RawRow) -> str | None:
    reading = row.mapped.vin if row.mapped is not None else None
    if reading is None:
        return None
    if reading.masked:
        return "masked"
    if reading.invalid:
        return "invalid"
    if reading.transliterated:
        return "transliterated"
    return None


def _refs_records(batch: PreparedBatch) -> list[tuple[Any, ...]]:
    """One reference per row message, sorted by (file_id, row_no), in REFS_COLUMNS order."""
    rows = sorted(batch.rows, key=lambda r: (r.meta.file_id.int, r.meta.row_no))
    return [
        (r.meta.file_id, r.meta.row_no, r.kind, r.lot_external_id, r.digest, r.parse_error,
         r.message.partition, r.message.offset)
        for r in rows
    ]  # fmt: skip


def _batch_records(
    batch: PreparedBatch, layout_ids: Mapping[tuple[str, ...], int]
) -> list[tuple[Any, ...]]:
    """One tuple per row that brings a new content or a mapped row, in BATCH_COLUMNS order.

    Each digest carries its body once: raw.contents is written with ON CONFLICT DO UPDATE,
    which refuses to touch one row twice in a statement.
    """
    lot_win = set(batch.winners.lots)
    veh_win = dict(batch.winners.vehicles)
    sale_win = set(batch.winners.sale_events)
    empty_lot = (None,) * (len(LOT_COLUMNS) - 3)
    empty_vehicle = (None,) * len(VEHICLE_ATTRS)
    records: list[tuple[Any, ...]] = []
    bodies: set[bytes] = set()  # digests whose body this batch carries, in chunk order
    order = sorted(
        (i for i, r in enumerate(batch.rows) if r.body is not None or r.mapped is not None),
        key=lambda i: (batch.rows[i].meta.file_id.int, batch.rows[i].meta.row_no),
    )
    for i in order:
        row = batch.rows[i]
        m, meta = row.mapped, row.meta
        body = row.body if row.digest not in bodies else None
        if body is None and m is None:
            continue
        slot: tuple[int | None, int | None] = (None, None)
        if body is not None:
            bodies.add(row.digest)
            slot = divmod(len(bodies) - 1, CHUNK_ROWS)
        head = (
            meta.file_id, meta.row_no, row.kind, row.lot_external_id, row.digest,
            "row" if m is not None else "malformed",
            layout_ids[row.layout] if row.layout is not None and body is not None else None,
            body, *slot,
        )  # fmt: skip
        if m is None:
            records.append(
                (*head, None, None, None, None, None, False, False, False, None, None, None,
                 *empty_vehicle, *empty_lot)
            )  # fmt: skip
            continue
        reading = m.vin
        records.append(
            (
                *head,
                reading.raw if reading else None,
                reading.normalized if reading else None,
                m.source_updated_at,
                m.fields_total,
                m.fields_unknown,
                i in lot_win,
                i in veh_win,
                i in sale_win,
                _vin_flag(row),
                veh_win.get(i),
                reading.check_digit_ok if reading else None,
                *m.vehicle,
                *m.lot[3:],  # lot_external_id, vin, vin_raw are in the head/vin columns
            )
        )
    return records


def _files_params(batch: PreparedBatch, *, events: bool) -> list[Any]:
    files = sorted((f for f in batch.files if f.has_event == events), key=lambda f: f.file_id)
    params: list[Any] = [
        [f.file_id for f in files],
        [f.sha256 for f in files],
        [f.dialect for f in files],
        [f.encoding for f in files],
    ]
    if events:
        params += [
            [f.path for f in files],
            [f.bytes for f in files],
            [orjson.dumps(list(f.headers)).decode() if f.headers is not None else None
             for f in files],
            [f.rows_published for f in files],
            [f.malformed_rows for f in files],
            [f.started_at for f in files],
            [f.completed_at for f in files],
        ]  # fmt: skip
    return params


def _clean(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; a recorded error must never fail its own batch.
    return None if text is None else text.replace("\x00", "\ufffd")


class Sink:
    def __init__(self, pool: asyncpg.Pool, *, group_id: str, consumer_name: str) -> None:
        self._pool = pool
        self._group_id = group_id
        self._consumer = consumer_name
        # Layout rows are never deleted: once resolved, an id holds for the process's life.
        self._layout_ids: dict[tuple[str, ...], int] = {}

    async def known_contents(self, digests: Sequence[bytes]) -> dict[bytes, tuple[int, int] | None]:
        """Which of ``digests`` are stored: their field counts when applied, else None."""
        if not digests:
            return {}
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(SQL_KNOWN_CONTENTS, list(set(digests)))
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc
        return {
            bytes(r["digest"]): (int(r["fields_total"] or 0), int(r["fields_unknown"] or 0))
            if r["kind"] == "row"
            else None
            for r in rows
        }

    async def _resolve_layouts(self, conn: Any, batch: PreparedBatch) -> None:
        for layout in {r.layout for r in batch.rows if r.layout is not None}:
            if layout in self._layout_ids:
                continue
            layout_id = None
            for _ in range(3):  # None: a concurrent first insert not yet visible; ask again
                layout_id = await conn.fetchval(SQL_LAYOUT, list(layout))
                if layout_id is not None:
                    break
            if layout_id is None:
                raise TransientError("layout row not visible yet")
            self._layout_ids[layout] = int(layout_id)

    async def ping(self) -> None:
        try:
            async with self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc

    async def committed_offsets(self, topic: str, partitions: Iterable[int]) -> dict[int, int]:
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(
                    SQL_COMMITTED_OFFSETS, self._group_id, topic, list(partitions)
                )
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc
        return {int(r["partition"]): int(r["next_offset"]) for r in rows}

    async def write(self, batch: PreparedBatch) -> BatchOutcome:
        try:
            async with self._pool.acquire() as conn:
                await self._resolve_layouts(conn, batch)
                async with conn.transaction():
                    return await self._write(conn, batch)
        except IngestError:
            raise
        except _PG_ERRORS as exc:
            raise translate_pg(exc) from exc

    async def _write(self, conn: Any, batch: PreparedBatch) -> BatchOutcome:
        rows = dict.fromkeys(("inserted", "updated", "unchanged", "stale"), 0)
        rows["stale"] += batch.deduped_stale
        conflicts: collections.Counter[str] = collections.Counter()
        per_file_rows: collections.Counter[uuid.UUID] = collections.Counter()
        per_file_errors: collections.Counter[uuid.UUID] = collections.Counter()
        raw_inserted = 0

        # 1. Files first: raw.file_rows and the runs reference them.
        if any(not f.has_event for f in batch.files):
            await conn.execute(SQL_FILES_CREATE, *_files_params(batch, events=False))
        if any(f.has_event for f in batch.files):
            await conn.execute(SQL_FILES_FILL, *_files_params(batch, events=True))

        if batch.rows or batch.parse_errors:
            await conn.execute(CREATE_BATCH_TABLE)  # step 6 reads it even when empty
        if batch.rows:
            # 2. COPY a reference of every row message, and the new contents with their
            #    mapped rows, into the session's temp tables.
            await conn.copy_records_to_table(
                "vinops_refs", records=_refs_records(batch), columns=REFS_COLUMNS
            )
            new = _batch_records(batch, self._layout_ids)
            if new:
                await conn.copy_records_to_table("vinops_batch", records=new, columns=BATCH_COLUMNS)
            flips = [r for r in batch.rows if r.mapped is not None and r.body is None]
            if flips:
                m = [r.mapped for r in flips if r.mapped is not None]
                await conn.execute(
                    SQL_FLIP_APPLIED, [r.digest for r in flips], [x.fields_total for x in m],
                    [x.fields_unknown for x in m], [x.source_updated_at for x in m],
                )  # fmt: skip
            # 3. raw.contents + staging.copart_raw + raw.file_rows (one statement).
            for r in await conn.fetch(SQL_RAW_AND_STAGING):
                per_file_rows[r["file_id"]] += r["n"]
                per_file_errors[r["file_id"]] += r["bad"]
                raw_inserted += r["n"]
            # 4. Vehicles before lots (FK), newest version per VIN.
            if batch.winners.vehicles:
                await conn.execute(SQL_VEHICLES)
            # 5. Lots: LWW upsert, lot_vin_changed, and the outcome counts.
            if batch.winners.lots:
                r = await conn.fetchrow(SQL_LOTS)
                rows["inserted"] += r["inserted"]
                rows["updated"] += r["updated"]
                rows["unchanged"] += r["unchanged"]
                rows["stale"] += len(batch.winners.lots) - r["inserted"] - r["updated"]
                rows["stale"] -= r["unchanged"]
                conflicts["lot_vin_changed"] += r["vin_changed"]

        # 6. Sale events, images, row-level VIN conflicts, parse errors.
        parse_errors: collections.Counter[str] = collections.Counter()
        if batch.rows or batch.parse_errors:
            side = await conn.fetchrow(SQL_SIDE_TABLES, *self._side_params(batch))
            conflicts.update(side["conflicts"] or [])
            by_key = {p.dedup_key: p for p in batch.parse_errors}
            for key in side["parse_errors"] or []:
                record = by_key[key]
                parse_errors[record.reason] += 1
                if record.counts_as_row and record.file_id is not None:
                    per_file_rows[record.file_id] += 1
                    per_file_errors[record.file_id] += 1

        # 7. Runs and offsets last: the run row is shared by every consumer of a file, so
        #    its lock is taken as late as possible and held only until COMMIT.
        transitions = await conn.fetch(
            SQL_RUNS_AND_OFFSETS,
            *self._runs_params(batch, per_file_rows, per_file_errors),
            *self._offsets_params(batch),
        )
        runs = collections.Counter(str(t["status"]) for t in transitions)
        return BatchOutcome(
            rows=rows,
            parse_errors=dict(parse_errors),
            conflicts={k: n for k, n in conflicts.items() if n},
            fields_total=batch.fields_total,
            fields_unknown=batch.fields_unknown,
            runs=dict(runs),
            raw_rows_inserted=raw_inserted,
            newest_timestamp_ms=batch.newest_timestamp_ms,
        )

    def _side_params(self, batch: PreparedBatch) -> list[Any]:
        images = [
            (row.lot_external_id, row.mapped.images[j])
            for i, j in batch.winners.images
            if (row := batch.rows[i]).mapped is not None
        ]
        errors = sorted(batch.parse_errors, key=lambda p: p.dedup_key)
        return [
            [lot for lot, _ in images],
            [image.kind for _, image in images],
            [image.url for _, image in images],
            [image.storage_key for _, image in images],
            [p.dedup_key for p in errors],
            [p.file_id for p in errors],
            [p.row_no for p in errors],
            [p.lot_external_id for p in errors],
            [p.reason for p in errors],
            [_clean(p.message) or "" for p in errors],
            [_clean(p.raw) for p in errors],
            [p.message_ref.topic for p in errors],
            [p.message_ref.partition for p in errors],
            [p.message_ref.offset for p in errors],
            self._consumer,
        ]

    @staticmethod
    def _runs_params(
        batch: PreparedBatch,
        per_file_rows: Mapping[uuid.UUID, int],
        per_file_errors: Mapping[uuid.UUID, int],
    ) -> list[Any]:
        files = sorted(batch.files, key=lambda f: f.file_id)
        return [
            [f.file_id for f in files],
            [f.rows_published for f in files],
            [per_file_rows.get(f.file_id, 0) for f in files],
            [per_file_errors.get(f.file_id, 0) for f in files],
            [f.aborted for f in files],
            [f.started_at for f in files],
        ]

    def _offsets_params(self, batch: PreparedBatch) -> list[Any]:
        keys = sorted(batch.offsets)
        return [
            self._group_id,
            [t for t, _ in keys],
            [p for _, p in keys],
            [batch.offsets[k] for k in keys],
        ]
