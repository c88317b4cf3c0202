"""Mapping one feed row (either dialect) to a ``MappedRow``: the per-layout plan and the row's
typed values for lots, vehicles, sale events and images.

Columns are found through ``feed.dialects`` (by name, never by position); every canonical
field has exactly one parser here. A field is *unknown* when its typed value is None
(empty, placeholder, 0-means-no-value, unparseable or out of range); ``fields_total`` and
``fields_unknown`` feed the unknown-rate view.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consumer.prepare import values as v
from consumer.prepare.mapped import (
    EPOCH,
    LOT_COLUMNS,
    MAPPING_VERSION,
    VEHICLE_ATTRS,
    ImageRef,
    MappedRow,
    version_of,
)
from consumer.prepare.zones import auction_utc
from feed.dialects import DialectError, layout_for
from feed.vin import read_vin

__all__ = ["MAPPING_VERSION", "PARSERS", "RowProblemError", "map_row"]

PARSERS: Mapping[str, Callable[[str], Any]] = {
    "lot_number": v.text,
    "source_updated_at": v.timestamptz,
    "source_created_at": v.timestamp,
    "vin": v.text,
    "yard_number": v.int_in(1, v.INT_MAX),
    "yard_name": v.text,
    "sale_date": v.sale_date,
    "sale_day_of_week": v.text,
    "sale_time": v.hhmm,
    "sale_time_zone": v.upper_text,
    "item_number": v.int_in(0, v.INT_MAX),
    "vehicle_type": v.upper_text,
    "year": v.int_in(v.MIN_YEAR, v.MAX_YEAR),
    "make": v.text,
    "model_group": v.text,
    "model_detail": v.text,
    "body_style": v.text,
    "color": v.text,
    "damage_description": v.text,
    "secondary_damage": v.text,
    "title_state": v.upper_text,
    "title_type": v.text,
    "has_keys": v.keys,
    "lot_cond_code": v.text,
    "odometer": v.int_in(1, v.INT_MAX, zero_unknown=True),
    "odometer_brand": v.upper_text,
    "est_retail_value": v.money,
    "repair_cost": v.money,
    "engine": v.text,
    "drive": v.text,
    "transmission": v.upper_text,
    "fuel_type": v.upper_text,
    "cylinders": v.int_in(0, 32),
    "runs_drives": v.text,
    "sale_status": v.text,
    "high_bid": v.money,
    "special_note": v.text,
    "location_city": v.text,
    "location_state": v.upper_text,
    "location_zip": v.text,
    "location_country": v.upper_text,
    "currency_code": v.upper_text,
    "image_thumbnail": v.text,
    "image_url": v.text,
    "grid_row": v.text,
    "make_offer_eligible": v.boolean,
    "buy_it_now_price": v.money,
    "trim": v.text,
    "rentals": v.text,
    "wholesale": v.text,
    "seller_name": v.text,
    "offsite_address1": v.text,
    "offsite_state": v.upper_text,
    "offsite_city": v.text,
    "offsite_zip": v.text,
    "sale_light": v.text,
    "auto_grade": v.text,
    "announcements": v.text,
}


class RowProblemError(ValueError):
    """A well-formed message whose row cannot be mapped at all; ``reason`` is a short class."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# Computed values of a row, appended after its parsed fields (see ``_Plan.lot``).
_COMPUTED = ("_vin", "_vin_raw", "_auction", "_has_keys", "_keys_code", "_version", "_none")


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything about a row layout that does not depend on the row, computed once.

    ``cells`` fetches a row's cells in field order in one C call; fields whose parser is
    plain ``text``/``upper_text`` are typed inline (no call per cell); the others keep
    their parser. ``lot``/``vehicle`` pick the output columns out of the parsed fields
    followed by the ``_COMPUTED`` values (a field this layout lacks points at ``_none``).
    """

    fields: tuple[str, ...]
    cells: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    upper: tuple[int, ...]  # positions of upper_text fields
    parsed: tuple[tuple[int, Callable[[str], Any]], ...]  # other parsers than (upper_)text
    at: Mapping[str, int]  # field or computed name -> position in the extended values
    lot: Callable[[Sequence[Any]], tuple[Any, ...]]
    vehicle: Callable[[Sequence[Any]], tuple[Any, ...]]
    vin_header: str | None


@functools.lru_cache(maxsize=256)
def _plan(dialect: str, headers: tuple[str, ...]) -> _Plan:
    """The plan of a row layout; first column wins for a field.

    Cached: every row of a file has the same keys, so this runs once per layout.
    """
    layout = layout_for(dialect, headers)
    seen: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for header, field in zip(layout.headers, layout.fields, strict=True):
        if field is not None and field not in seen:
            seen.add(field)
            pairs.append((header, field))
    fields = tuple(f for _, f in pairs)
    at = {name: i for i, name in enumerate((*fields, *_COMPUTED))}
    none = at["_none"]
    names = tuple(h for h, _ in pairs)
    getter: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    if len(names) > 1:
        getter = operator.itemgetter(*names)
    else:  # itemgetter of one key returns the value itself, not a 1-tuple
        getter = lambda row: tuple(row[h] for h in names)  # noqa: E731
    return _Plan(
        fields=fields,
        cells=getter,
        upper=tuple(i for i, f in enumerate(fields) if PARSERS[f] is v.upper_text),
        parsed=tuple((i, PARSERS[f]) for i, f in enumerate(fields) if PARSERS[f] not in _INLINE),
        at=at,
        lot=operator.itemgetter(*(at.get(src, none) for src in _LOT_SOURCES)),
        vehicle=operator.itemgetter(*(at.get(f, none) for f in VEHICLE_ATTRS)),
        vin_header=next((h for h, f in pairs if f == "vin"), None),
    )


_INLINE = (v.text, v.upper_text)


def _cell(raw: object) -> str:
    # The contract says strings; a re-encoded file may still carry JSON numbers or null.
    if isinstance(raw, str):
        return raw
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def image_refs(thumbnail: str | None, lot_images: str | None) -> tuple[ImageRef, ...]:
    refs: list[ImageRef] = []
    for kind, url in (("thumbnail", thumbnail), ("lot_images", lot_images)):
        if url is None:
            continue
        scheme, sep, rest = url.partition("://")
        if sep and scheme.lower() in {"http", "https"}:
            refs.append(ImageRef(kind, url, rest))
        elif not sep:
            refs.append(ImageRef(kind, "https://" + url, url))  # thumbnails come without scheme
    return tuple(refs)


# Where each LOT_COLUMNS value comes from: a canonical field, or a computed key ("_...").
_LOT_SOURCES: tuple[str, ...] = tuple(
    {
        "lot_external_id": "lot_number",
        "vin": "_vin",
        "vin_raw": "_vin_raw",
        "sale_time_hhmm": "sale_time",
        "status": "sale_status",
        "auction_datetime_utc": "_auction",
        "has_keys": "_has_keys",
        "keys_code": "_keys_code",
        "source_updated_at": "_version",
    }.get(c, c)
    for c in LOT_COLUMNS
)


def _known(value: str) -> str | None:
    """``values.text`` of an already stripped cell."""
    if not value or (value[0] == "[" and value[-1] == "]" and len(value) > 2):
        return None
    return value


def map_row(dialect: str, row: Mapping[str, Any]) -> MappedRow:
    """Type one row given as header -> cell; ``RowProblemError`` when it has no lot number."""
    try:
        plan = _plan(dialect, tuple(row))
    except (DialectError, ValueError) as exc:
        raise RowProblemError("dialect", f"dialect {dialect!r} is not ingested: {exc}") from exc
    cells = plan.cells(row)
    try:
        stripped = [c.strip() for c in cells]
    except AttributeError:  # a re-encoded file may carry JSON numbers or null: rare
        stripped = [_cell(c).strip() for c in cells]
    # Every parser strips first and says None (unknown) for an empty cell or a placeholder,
    # so ``values.text`` of every cell is the typed value of the text fields, and the
    # other parsers run only on cells that say something.
    typed: list[Any] = [
        None if not c or (c[0] == "[" and c[-1] == "]" and len(c) > 2) else c for c in stripped
    ]
    for i in plan.upper:
        if (value := typed[i]) is not None:
            typed[i] = value.upper()
    for i, parse in plan.parsed:
        if typed[i] is not None:
            typed[i] = parse(typed[i])
    at = plan.at
    unknown = typed.count(None)
    lot_number = typed[at["lot_number"]] if "lot_number" in at else None
    if lot_number is None:
        raise RowProblemError("no_lot_number", "row has no lot number")
    reading = read_vin(_cell(row[plan.vin_header])) if plan.vin_header is not None else None
    has_keys = keys_code = None
    if "has_keys" in at:
        keys = typed[at["has_keys"]]
        if keys is None:  # empty or placeholder: values.keys says (None, None), unknown
            keys = (None, None)
            typed[at["has_keys"]] = keys
        elif keys == (None, None):
            unknown += 1
        has_keys, keys_code = keys
    sale_day = typed[at["sale_date"]] if "sale_date" in at else None
    sale_time = typed[at["sale_time"]] if "sale_time" in at else None
    zone = typed[at["sale_time_zone"]] if "sale_time_zone" in at else None
    when = auction_utc(sale_day, sale_time, zone)
    if when is None and sale_day is not None and sale_time is not None:
        unknown += 1  # a zone abbreviation we cannot place: the auction time is unknown
    updated = typed[at["source_updated_at"]] if "source_updated_at" in at else None
    # A row without a parseable update time cannot be ordered: it sorts as the epoch so
    # that any dated version wins over it (and it is counted unknown).
    typed += (
        reading.normalized if reading is not None else None,
        reading.raw if reading is not None else None,
        when, has_keys, keys_code, updated or EPOCH, None,
    )  # fmt: skip
    get = typed.__getitem__
    lot, vehicle = plan.lot(typed), plan.vehicle(typed)
    return MappedRow(
        lot=lot,
        vehicle=vehicle,
        vin=reading,
        source_updated_at=updated,
        images=image_refs(
            get(at["image_thumbnail"]) if "image_thumbnail" in at else None,
            get(at["image_url"]) if "image_url" in at else None,
        ),
        fields_total=len(plan.fields),
        fields_unknown=unknown,
        version=version_of(lot, vehicle),
    )
