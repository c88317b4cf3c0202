"""Which version of each lot, vehicle and sale event a batch applies: last write wins by source
time, equal times to the larger version digest (``mapped.version_of``). PostgreSQL refuses to
update one row twice in one INSERT ... ON CONFLICT, so only the newest version per key goes to
the upserts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from consumer.prepare.mapped import EPOCH
from consumer.prepare.prepared import RawRow, Winners


def _version(row: RawRow) -> tuple[dt.datetime, bytes]:
    """Last write wins by source time; equal times go to the larger version digest, a rule
    that needs no arrival order (and so holds when a known content is skipped)."""
    if row.mapped is None:
        return (EPOCH, b"")
    return (row.mapped.source_updated_at or EPOCH, row.mapped.version)


def winners_of(rows: Sequence[RawRow]) -> tuple[Winners, int]:
    lots: dict[str, int] = {}
    vehicles: dict[str, int] = {}
    sales: dict[tuple[str, dt.date], int] = {}
    images: dict[tuple[str, str, str], tuple[int, int]] = {}
    mapped_count = 0
    for i, row in enumerate(rows):
        m = row.mapped
        if m is None:
            continue
        mapped_count += 1
        version = _version(row)
        lot = m.lot_external_id
        if lot not in lots or _version(rows[lots[lot]]) <= version:
            lots[lot] = i
        if m.vin is not None and m.vin.normalized is not None:
            vin = m.vin.normalized
            if vin not in vehicles or _version(rows[vehicles[vin]]) <= version:
                vehicles[vin] = i
        if m.sale_date is not None:
            key = (lot, m.sale_date)
            if key not in sales or _version(rows[sales[key]]) <= version:
                sales[key] = i
        for j, image in enumerate(m.images):
            images.setdefault((lot, image.kind, image.storage_key), (i, j))
    winners = Winners(
        lots=tuple(sorted(lots.values())),
        # The winner's own spelling: the vehicle is the newest version whole (its vin_raw too).
        vehicles=tuple(sorted((i, _raw_vin(rows[i])) for i in vehicles.values())),
        sale_events=tuple(sorted(sales.values())),
        images=tuple(sorted(images.values())),
    )
    return winners, mapped_count - len(lots)


def _raw_vin(row: RawRow) -> str:
    reading = row.mapped.vin if row.mapped is not None else None
    return reading.raw if reading is not None else ""
