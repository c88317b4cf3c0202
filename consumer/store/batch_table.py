"""The batch's temp tables and the rows COPYed into them (pure: no I/O).

``vinops_batch`` holds one wide row per new content or mapped row; every statement of a
batch's write reads it. ``vinops_refs`` takes the references only when the straight COPY into
raw.file_rows meets rows already recorded. Column order is the COPY's: spec, records and the
temp tables' DDL are built from the same tuples.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from consumer.prepare.mapped import LOT_DATA_COLUMNS, LOT_TYPES, VEHICLE_ATTRS, VEHICLE_TYPES
from consumer.prepare.prepared import LayoutKey, PreparedBatch, RawRow, Reference

# Bodies per raw.content_chunks row: PostgreSQL compresses only values over ~2 KB and one
# row's ~0.7 KB of values is below that; 32 of them compress to ~45% with lz4.
CHUNK_ROWS = 32

_BATCH_SPEC: tuple[tuple[str, str], ...] = (
    ("file_id", "uuid"), ("row_no", "integer"), ("kind", "text"), ("lot_external_id", "text"),
    ("digest", "bytea"), ("content_kind", "text"), ("layout_id", "integer"), ("body", "json"),
    ("chunk_no", "integer"), ("chunk_pos", "smallint"),
    ("vin_raw", "text"), ("vin_normalized", "text"), ("su_real", "timestamptz"),
    ("fields_total", "smallint"), ("fields_unknown", "smallint"), ("version", "bytea"),
    ("lot_win", "boolean"), ("veh_win", "boolean"), ("sale_win", "boolean"),
    ("vin_flag", "text"), ("veh_vin_raw", "text"), ("check_digit_ok", "boolean"),
    *((c, VEHICLE_TYPES.get(c, "text")) for c in VEHICLE_ATTRS),
    *((c, LOT_TYPES.get(c, "text")) for c in LOT_DATA_COLUMNS),
)  # fmt: skip
BATCH_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _BATCH_SPEC)
# Every physical row, known content or not: the narrow table behind raw.file_rows.
_REFS_SPEC: tuple[tuple[str, str], ...] = (
    ("file_id", "uuid"), ("row_no", "integer"), ("kind", "text"), ("lot_external_id", "text"),
    ("digest", "bytea"), ("parse_error", "text"), ("kafka_partition", "integer"),
    ("kafka_offset", "bigint"), ("observed", "text[]"),
)  # fmt: skip
REFS_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _REFS_SPEC)
assert Reference._fields == REFS_COLUMNS  # noqa: S101 - a Reference is COPYed as it is
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


def vin_flag(row: RawRow) -> str | None:
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


def refs_records(batch: PreparedBatch) -> list[Reference]:
    """One reference per row message, sorted by (file_id, row_no), in REFS_COLUMNS order."""
    refs = batch.references
    if refs and all(r[0] == refs[0][0] for r in refs):
        # The usual batch: one file. Sorting by row number alone runs in C.
        return sorted(refs, key=_ROW_NO)
    return sorted(refs, key=lambda r: (r.file_id.int, r.row_no))


_ROW_NO = operator.itemgetter(1)


def batch_records(
    batch: PreparedBatch, layout_ids: Mapping[LayoutKey, int]
) -> list[tuple[Any, ...]]:
    """One tuple per row that brings a new content or a mapped row, in BATCH_COLUMNS order.

    Each digest carries its body once: raw.contents is written with ON CONFLICT DO UPDATE,
    which refuses to touch one row twice in a statement.
    """
    lot_win = set(batch.winners.lots)
    veh_win = dict(batch.winners.vehicles)
    sale_win = set(batch.winners.sale_events)
    empty_lot = (None,) * len(LOT_DATA_COLUMNS)
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
                (*head, None, None, None, None, None, None, False, False, False, None, None,
                 None, *empty_vehicle, *empty_lot)
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
                m.version,
                i in lot_win,
                i in veh_win,
                i in sale_win,
                vin_flag(row),
                veh_win.get(i),
                reading.check_digit_ok if reading else None,
                *m.vehicle,
                *m.lot_data,  # lot_external_id, vin, vin_raw are in the head/vin columns
            )
        )
    return records
