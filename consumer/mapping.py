"""One feed row (either dialect) -> typed values for lots, vehicles, sale events and images.

Columns are found through ``feed.dialects`` (by name, never by position); every canonical
field has exactly one parser here. A field is *unknown* when its typed value is None
(empty, placeholder, 0-means-no-value, unparseable or out of range); ``fields_total`` and
``fields_unknown`` feed the unknown-rate view.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from consumer import values as v
from consumer.zones import auction_utc
from feed.dialects import DialectError, layout_for
from feed.vin import VinReading, read_vin

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

# Column order of public.lots as the sink writes it (lot_external_id first).
LOT_COLUMNS: tuple[str, ...] = (
    "lot_external_id", "vin", "vin_raw", "yard_number", "yard_name", "item_number", "grid_row",
    "location_city", "location_state", "location_zip", "location_country",
    "sale_date", "sale_time_hhmm", "sale_time_zone", "auction_datetime_utc", "status",
    "title_state", "title_type", "damage_description", "secondary_damage", "has_keys",
    "keys_code", "lot_cond_code", "runs_drives", "special_note", "odometer", "odometer_brand",
    "currency_code", "est_retail_value", "repair_cost", "high_bid", "buy_it_now_price",
    "make_offer_eligible", "seller_name", "offsite_address1", "offsite_city", "offsite_state",
    "offsite_zip", "rentals", "wholesale", "sale_light", "auto_grade", "announcements",
    "image_thumbnail", "image_url", "source_created_at", "source_updated_at",
)  # fmt: skip
# Vehicle attribute columns (vin, vin_raw, check_digit_ok and source_updated_at come apart).
VEHICLE_ATTRS: tuple[str, ...] = (
    "year", "make", "model_group", "model_detail", "trim", "body_style", "engine", "drive",
    "transmission", "fuel_type", "cylinders", "color", "vehicle_type",
)  # fmt: skip


class RowProblemError(ValueError):
    """A well-formed message whose row cannot be mapped at all; ``reason`` is a short class."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImageRef:
    kind: str  # 'thumbnail' | 'lot_images'
    url: str
    storage_key: str  # the URL without its scheme


@dataclass(frozen=True, slots=True)
class MappedRow:
    lot_external_id: str
    source_updated_at: dt.datetime | None  # None: unknown, the row cannot be ordered
    vin: VinReading | None
    lot: tuple[Any, ...]  # LOT_COLUMNS order
    vehicle: tuple[Any, ...]  # VEHICLE_ATTRS order
    sale_date: dt.date | None
    auction_datetime_utc: dt.datetime | None
    status: str | None
    high_bid: Any
    currency_code: str | None
    images: tuple[ImageRef, ...]
    fields_total: int
    fields_unknown: int


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class _Plan:
    steps: tuple[tuple[str, str, Callable[[str], Any]], ...]  # (header, field, parser)
    vin_header: str | None


@functools.lru_cache(maxsize=256)
def _plan(dialect: str, headers: tuple[str, ...]) -> _Plan:
    """(header, canonical field) pairs of a row layout; first column wins for a field.

    Cached: every row of a file has the same keys, so this runs once per layout.
    """
    layout = layout_for(dialect, headers)
    seen: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for header, field in zip(layout.headers, layout.fields, strict=True):
        if field is not None and field not in seen:
            seen.add(field)
            pairs.append((header, field))
    vin_header = next((h for h, f in pairs if f == "vin"), None)
    return _Plan(tuple((h, f, PARSERS[f]) for h, f in pairs), vin_header)


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


def map_row(dialect: str, row: Mapping[str, Any]) -> MappedRow:
    """Type one row given as header -> cell; ``RowProblemError`` when it has no lot number."""
    try:
        plan = _plan(dialect, tuple(row))
    except (DialectError, ValueError) as exc:
        raise RowProblemError("dialect", f"dialect {dialect!r} is not ingested: {exc}") from exc
    typed: dict[str, Any] = {}
    for header, field, parse in plan.steps:
        cell = row[header]
        typed[field] = parse(cell if type(cell) is str else _cell(cell))
    unknown = sum(1 for value in typed.values() if value is None)
    lot_number = typed.get("lot_number")
    if lot_number is None:
        raise RowProblemError("no_lot_number", "row has no lot number")
    reading = read_vin(_cell(row[plan.vin_header])) if plan.vin_header is not None else None
    keys = typed.get("has_keys")
    if keys is not None:
        if keys == (None, None):
            unknown += 1
        typed["_has_keys"], typed["_keys_code"] = keys
    sale_day = typed.get("sale_date")
    when = auction_utc(sale_day, typed.get("sale_time"), typed.get("sale_time_zone"))
    if when is None and sale_day is not None and typed.get("sale_time") is not None:
        unknown += 1  # a zone abbreviation we cannot place: the auction time is unknown
    typed["_auction"] = when
    if reading is not None:
        typed["_vin"] = reading.normalized
        typed["_vin_raw"] = reading.raw
    # A row without a parseable update time cannot be ordered: it sorts as the epoch so
    # that any dated version wins over it (and it is counted unknown).
    typed["_version"] = typed.get("source_updated_at") or EPOCH
    return MappedRow(
        lot_external_id=lot_number,
        source_updated_at=typed.get("source_updated_at"),
        vin=reading,
        lot=tuple(map(typed.get, _LOT_SOURCES)),
        vehicle=tuple(map(typed.get, VEHICLE_ATTRS)),
        sale_date=sale_day,
        auction_datetime_utc=when,
        status=typed.get("sale_status"),
        high_bid=typed.get("high_bid"),
        currency_code=typed.get("currency_code"),
        images=image_refs(typed.get("image_thumbnail"), typed.get("image_url")),
        fields_total=len(plan.steps),
        fields_unknown=unknown,
    )
