"""What `consumer history` reads: the versions of a lot, or of every lot that carried a VIN.

One query, by the history's two indexes (the primary key for a lot, ``lot_versions_vin_idx``
for a VIN): a VIN's lots are found first and then shown whole, so a version that changed the
VIN (and so no longer carries it) still shows as the change it is.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from consumer.store.history_sql import BOOLEANS, HISTORY_FIELDS, NUMBERS, TYPES

_VERSIONS = """
WITH lots AS (
  SELECT $1::text AS lot
  UNION
  SELECT DISTINCT w.lot_external_id FROM public.lot_versions w
  WHERE w.vin = public.normalize_vin($1)
)
SELECT v.lot_external_id, v.valid_from, v.valid_to, encode(v.version, 'hex') AS version, v.vin,
       v.changed, v.data, v.file_id, v.row_no, l.is_removed, l.removed_as_of
FROM lots
JOIN public.lot_versions v ON v.lot_external_id = lots.lot
LEFT JOIN public.lots l ON l.lot_external_id = v.lot_external_id
ORDER BY v.lot_external_id, v.valid_from, v.version
"""


def typed(field_name: str, text: str | None) -> Any:
    """A stored value (text) as the JSON value it is: a number, a boolean or a string."""
    if text is None:
        return None
    if field_name in NUMBERS:
        return float(text) if TYPES[field_name].startswith("numeric") else int(text)
    if field_name in BOOLEANS:
        return text == "true"
    return text


_POSITION = {f: i for i, f in enumerate(HISTORY_FIELDS)}


def whole_values(
    stored: Sequence[tuple[Sequence[str | None], Sequence[str] | None]],
) -> list[list[str | None]]:
    """Each version's values in full, from one lot's versions as stored (data, changed), in
    time order: the newest holds every value, an older one the values of the fields its
    successor changed (0027; public.lot_version_values() is the same rule in SQL)."""
    whole: list[list[str | None]] = []
    current: list[str | None] = []
    above: Sequence[str] = ()
    for data, changed in reversed(stored):
        if not whole:
            current = [*data, *([None] * (len(HISTORY_FIELDS) - len(data)))]
        else:
            current = list(current)
            for name in above:
                i = _POSITION.get(name)
                if i is not None:
                    current[i] = data[i] if i < len(data) else None
        whole.append(current)
        above = changed or ()
    return whole[::-1]


def values_of(data: Sequence[str | None]) -> dict[str, Any]:
    """A version's data (text[] in HISTORY_FIELDS order) as field -> value, NULLs left out."""
    return {f: typed(f, v) for f, v in zip(HISTORY_FIELDS, data, strict=False) if v is not None}


@dataclass(frozen=True, slots=True)
class Version:
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    version: str
    vin: str | None
    changed: tuple[str, ...] | None  # None: the lot's first version
    data: dict[str, Any]
    previous: dict[str, Any] | None
    file_id: uuid.UUID | None
    row_no: int | None

    def changes(self) -> dict[str, dict[str, Any]]:
        """Each changed field's old and new value."""
        before = self.previous or {}
        return {f: {"old": before.get(f), "new": self.data.get(f)} for f in self.changed or ()}


@dataclass(slots=True)
class LotHistory:
    lot: str
    removed_as_of: dt.datetime | None  # set while the lot is removed
    versions: list[Version] = field(default_factory=list)


async def history_of(conn: asyncpg.Connection, lot_or_vin: str) -> list[LotHistory]:
    """The history of the lot numbered ``lot_or_vin``, and of every lot that carried it as a
    VIN (normalised as the feed's VINs are); empty when there is none."""
    rows_of: dict[str, list[asyncpg.Record]] = {}
    for r in await conn.fetch(_VERSIONS, lot_or_vin.strip()):
        rows_of.setdefault(r["lot_external_id"], []).append(r)
    lots: list[LotHistory] = []
    for name, rows in rows_of.items():
        lot = LotHistory(name, rows[0]["removed_as_of"] if rows[0]["is_removed"] else None)
        values = whole_values([(r["data"], r["changed"]) for r in rows])
        for r, data in zip(rows, values, strict=True):
            previous = lot.versions[-1].data if lot.versions else None
            lot.versions.append(
                Version(
                    r["valid_from"], r["valid_to"], r["version"], r["vin"],
                    None if r["changed"] is None else tuple(r["changed"]),
                    values_of(data), previous, r["file_id"], r["row_no"],
                )
            )  # fmt: skip
        lots.append(lot)
    return lots


def as_json(query: str, lots: list[LotHistory]) -> str:
    def version(v: Version) -> dict[str, Any]:
        return {
            "valid_from": v.valid_from, "valid_to": v.valid_to, "version": v.version,
            "vin": v.vin, "changed": v.changed, "changes": v.changes(), "data": v.data,
            "file_id": None if v.file_id is None else str(v.file_id), "row_no": v.row_no,
        }  # fmt: skip

    body = {
        "query": query,
        "lots": [
            {"lot": lot.lot, "removed_as_of": lot.removed_as_of,
             "versions": [version(v) for v in lot.versions]}
            for lot in lots
        ],
    }  # fmt: skip
    return orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z).decode()
