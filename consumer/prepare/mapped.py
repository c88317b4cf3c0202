"""What a mapped feed row is: the column spec of the lots and vehicles values it carries
(name, PostgreSQL type, position) and ``MappedRow``, which holds them in that order.

One spec serves the mapping (``consumer.prepare.mapping`` fills the tuples in this order), the
batch's COPY and temp table (``consumer.store.batch_table``) and the upserts
(``consumer.store.statements``).
A value of the lot tuple is never kept a second time: ``MappedRow``'s named values read it
from the tuple by its column position.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from feed.vin import VinReading

# Column order of public.lots as the sink writes it: the key and VIN columns, which the sink
# takes from the batch's own columns, then the data columns it copies as they are.
LOT_KEY_COLUMNS: tuple[str, ...] = ("lot_external_id", "vin", "vin_raw")
LOT_DATA_COLUMNS: tuple[str, ...] = (
    "yard_number", "yard_name", "item_number", "grid_row",
    "location_city", "location_state", "location_zip", "location_country",
    "sale_date", "sale_time_hhmm", "sale_time_zone", "auction_datetime_utc", "status",
    "title_state", "title_type", "damage_description", "secondary_damage", "has_keys",
    "keys_code", "lot_cond_code", "runs_drives", "special_note", "odometer", "odometer_brand",
    "currency_code", "est_retail_value", "repair_cost", "high_bid", "buy_it_now_price",
    "make_offer_eligible", "seller_name", "offsite_address1", "offsite_city", "offsite_state",
    "offsite_zip", "rentals", "wholesale", "sale_light", "auto_grade", "announcements",
    "image_thumbnail", "image_url", "source_created_at", "source_updated_at",
)  # fmt: skip
LOT_COLUMNS: tuple[str, ...] = LOT_KEY_COLUMNS + LOT_DATA_COLUMNS
# Vehicle attribute columns (vin, vin_raw, check_digit_ok and source_updated_at come apart).
VEHICLE_ATTRS: tuple[str, ...] = (
    "year", "make", "model_group", "model_detail", "trim", "body_style", "engine", "drive",
    "transmission", "fuel_type", "cylinders", "color", "vehicle_type",
)  # fmt: skip
# PostgreSQL types of the columns above; a column not named here is text.
LOT_TYPES: Mapping[str, str] = {
    "yard_number": "integer", "item_number": "integer", "sale_date": "date",
    "sale_time_hhmm": "smallint", "auction_datetime_utc": "timestamptz", "has_keys": "boolean",
    "odometer": "integer", "est_retail_value": "numeric(14,2)", "repair_cost": "numeric(14,2)",
    "high_bid": "numeric(14,2)", "buy_it_now_price": "numeric(14,2)",
    "make_offer_eligible": "boolean", "source_created_at": "timestamp",
    "source_updated_at": "timestamptz",
}  # fmt: skip
VEHICLE_TYPES: Mapping[str, str] = {"year": "smallint", "cylinders": "smallint"}


# What a row maps to has a version: bump it with any change to what a row maps to (a parser,
# a zone, the VIN rule, a new column). A content applied under an older version is not
# skipped when it comes again: it is mapped and applied anew (raw.contents.mapping_version),
# and its version digest, which starts with this number, wins a tie against the old one.
# tests/unit/consumer/prepare/test_mapping_version.py fails when the mapping changes without a bump.
MAPPING_VERSION = 1


def version_of(lot: tuple[Any, ...], vehicle: tuple[Any, ...]) -> bytes:
    """The version digest stored as source_digest: the mapping version (2 bytes, big-endian),
    then 14 bytes of a digest of the mapped row's values (lot and vehicle tuples).

    Last write wins by (source time, this digest): an order of versions that needs no
    arrival order, in which two versions that map to the same values are equal, so neither
    overwrites the other (no write, no updated_at, no change event), and in which a version
    mapped by a newer mapping wins a tie against one stored by an older mapping.
    """
    encoded = orjson.dumps((lot, vehicle), default=str)
    values = hashlib.blake2b(encoded, digest_size=14).digest()
    return MAPPING_VERSION.to_bytes(2, "big") + values


# A row without a parseable update time sorts as the epoch: any dated version wins over it.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_AT = {name: i for i, name in enumerate(LOT_COLUMNS)}
_LOT_EXTERNAL_ID = _AT["lot_external_id"]
_SALE_DATE = _AT["sale_date"]
_AUCTION = _AT["auction_datetime_utc"]
_STATUS = _AT["status"]
_HIGH_BID = _AT["high_bid"]
_CURRENCY = _AT["currency_code"]


@dataclass(frozen=True, slots=True)
class ImageRef:
    kind: str  # 'thumbnail' | 'lot_images'
    url: str
    storage_key: str  # the URL without its scheme


@dataclass(frozen=True, slots=True)
class MappedRow:
    lot: tuple[Any, ...]  # LOT_COLUMNS order
    vehicle: tuple[Any, ...]  # VEHICLE_ATTRS order
    vin: VinReading | None  # the reading behind lot's vin and vin_raw columns
    # What the row says, None when unknown: the lot tuple holds ``source_updated_at or
    # EPOCH`` (the version the upserts order by), so this one is not a copy of it.
    source_updated_at: dt.datetime | None
    images: tuple[ImageRef, ...]
    fields_total: int
    fields_unknown: int
    # The version's identity among versions of one lot with the same source time: a digest
    # of everything it maps to (``version_of``). Versions that map alike are one version, so
    # the upserts write nothing for them, whatever their content digests say.
    version: bytes = b""

    @property
    def lot_data(self) -> tuple[Any, ...]:
        """``lot`` without its key and VIN columns: LOT_DATA_COLUMNS order."""
        return self.lot[len(LOT_KEY_COLUMNS) :]

    @property
    def lot_external_id(self) -> str:
        value: str = self.lot[_LOT_EXTERNAL_ID]  # mapping refuses a row without one
        return value

    @property
    def sale_date(self) -> dt.date | None:
        value: dt.date | None = self.lot[_SALE_DATE]
        return value

    @property
    def auction_datetime_utc(self) -> dt.datetime | None:
        value: dt.datetime | None = self.lot[_AUCTION]
        return value

    @property
    def status(self) -> str | None:
        value: str | None = self.lot[_STATUS]
        return value

    @property
    def high_bid(self) -> Any:
        return self.lot[_HIGH_BID]

    @property
    def currency_code(self) -> str | None:
        value: str | None = self.lot[_CURRENCY]
        return value
