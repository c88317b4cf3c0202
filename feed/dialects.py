"""Feed dialects: recognised from the header row, mapped by column NAME, never by position.

Every dialect maps its headers onto one set of canonical field names (``FIELDS``); the
consumer types and stores those. Columns a dialect does not know are kept losslessly in
the message (and in the raw layer) but are not mapped.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class Dialect(enum.StrEnum):
    MEMBER = "copart-member"  # the member "sales data" feed, 49/56/59+ columns
    CAMEL = "copart-camel"  # third-party re-export with camelCase names and ISO dates
    SEARCH = "copart-search"  # website search export: recognised, refused


class DialectError(ValueError):
    """The header row is not a feed this product ingests; the message is one line."""


MEMBER_COLUMNS: Mapping[str, str] = {
    "Lot number": "lot_number",
    "Last Updated Time": "source_updated_at",
    "Create Date/Time": "source_created_at",
    "VIN": "vin",
    "Yard number": "yard_number",
    "Yard name": "yard_name",
    "Sale Date M/D/CY": "sale_date",
    "Day of Week": "sale_day_of_week",
    "Sale time (HHMM)": "sale_time",
    "Time Zone": "sale_time_zone",
    "Item#": "item_number",
    "Vehicle Type": "vehicle_type",
    "Year": "year",
    "Make": "make",
    "Model Group": "model_group",
    "Model Detail": "model_detail",
    "Body Style": "body_style",
    "Color": "color",
    "Damage Description": "damage_description",
    "Secondary Damage": "secondary_damage",
    "Sale Title State": "title_state",
    "Sale Title Type": "title_type",
    "Has Keys-Yes or No": "has_keys",
    "Lot Cond. Code": "lot_cond_code",
    "Odometer": "odometer",
    "Odometer Brand": "odometer_brand",
    "Est. Retail Value": "est_retail_value",
    "Lot ACV": "est_retail_value",  # the older layout's name for the same value
    "Repair cost": "repair_cost",
    "Engine": "engine",
    "Drive": "drive",
    "Transmission": "transmission",
    "Fuel Type": "fuel_type",
    "Cylinders": "cylinders",
    "Runs/Drives": "runs_drives",
    "Sale Status": "sale_status",
    "High Bid =non-vix,Sealed=Vix": "high_bid",
    "Special Note": "special_note",
    "Location city": "location_city",
    "Location state": "location_state",
    "Location ZIP": "location_zip",
    "Location country": "location_country",
    "Currency Code": "currency_code",
    "Image Thumbnail": "image_thumbnail",
    "Grid/Row": "grid_row",
    "Make-an-Offer Eligible": "make_offer_eligible",
    "Buy-It-Now Price": "buy_it_now_price",
    "Image URL": "image_url",
    "Trim": "trim",
    "Rentals": "rentals",
    "Copart Select": "wholesale",
    "Wholesale": "wholesale",  # 2026 files renamed "Copart Select"
    "Seller Name": "seller_name",
    "Offsite Address1": "offsite_address1",
    "Offsite State": "offsite_state",
    "Offsite City": "offsite_city",
    "Offsite Zip": "offsite_zip",
    "Sale Light": "sale_light",
    "AutoGrade": "auto_grade",
    "Announcements": "announcements",
}

# Canonical field names: the member feed names every one (in its column order, first
# column first); other dialects name a subset. The consumer types and the schema use them.
FIELDS: tuple[str, ...] = tuple(dict.fromkeys(MEMBER_COLUMNS.values()))

CAMEL_COLUMNS: Mapping[str, str] = {
    "lotId": "lot_number",
    "updatedAt": "source_updated_at",
    "_firstSeenAt": "source_created_at",
    "vin": "vin",
    "yardNumber": "yard_number",
    "yardName": "yard_name",
    "saleDate": "sale_date",
    "saleDayOfWeek": "sale_day_of_week",
    "saleTime": "sale_time",
    "saleTimeZone": "sale_time_zone",
    "itemNumber": "item_number",
    "vehicleType": "vehicle_type",
    "year": "year",
    "make": "make",
    "modelGroup": "model_group",
    "modelDetail": "model_detail",
    "bodyStyle": "body_style",
    "exteriorColor": "color",
    "damageDescription": "damage_description",
    "secondaryDamage": "secondary_damage",
    "saleTitleState": "title_state",
    "saleTitleType": "title_type",
    "hasKeys": "has_keys",
    "lotCondCode": "lot_cond_code",
    "mileage": "odometer",
    "odometerBrand": "odometer_brand",
    "estRetailValue": "est_retail_value",
    "repairCost": "repair_cost",
    "engine": "engine",
    "drivetrain": "drive",
    "transmission": "transmission",
    "fuelType": "fuel_type",
    "cylinders": "cylinders",
    "runsDrives": "runs_drives",
    "saleStatus": "sale_status",
    "highBid": "high_bid",
    "specialNote": "special_note",
    "locationCity": "location_city",
    "locationState": "location_state",
    "locationZip": "location_zip",
    "locationCountry": "location_country",
    "currencyCode": "currency_code",
    "imageThumbnail": "image_thumbnail",
    "imageUrl": "image_url",
    "gridRow": "grid_row",
    "makeOfferEligible": "make_offer_eligible",
    "buyItNowPrice": "buy_it_now_price",
    "trim": "trim",
    "rentals": "rentals",
    "wholesale": "wholesale",
    "sellerName": "seller_name",
    "offsiteAddress1": "offsite_address1",
    "offsiteState": "offsite_state",
    "offsiteCity": "offsite_city",
    "offsiteZip": "offsite_zip",
    "saleLight": "sale_light",
    "autoGrade": "auto_grade",
    "announcements": "announcements",
}

# Cells that describe one download of the feed, not the lot (docs/observation-cells.md has the
# evidence): the member feed's `Id` is a row counter, renumbered whenever a lot is sold or
# listed; a re-export's `_lastSeenAt` advances on every download. A row's content identity
# (feed.contract.content_of) leaves them out, so an unchanged lot is recognised whatever they
# say; the raw layer keeps them per physical row.
OBSERVATION_CELLS: Mapping[str, tuple[str, ...]] = {
    Dialect.MEMBER: ("Id",),
    Dialect.CAMEL: ("_lastSeenAt",),
}

_COLUMNS: Mapping[Dialect, Mapping[str, str]] = {
    Dialect.MEMBER: MEMBER_COLUMNS,
    Dialect.CAMEL: CAMEL_COLUMNS,
}
_SEARCH_MARKERS = frozenset({"Lot URL", "Lot #"})
# A header must carry at least this many known names of a dialect to count as that dialect,
# so that a stray one-column file that happens to say "VIN" is not taken for a feed.
_MIN_KNOWN = 8


@dataclass(frozen=True, slots=True)
class Layout:
    """A recognised header: its dialect, and for each column its canonical field (or None)."""

    dialect: Dialect
    headers: tuple[str, ...]
    fields: tuple[str | None, ...]

    @property
    def lot_index(self) -> int:
        return self.fields.index("lot_number")

    def canonical(self, row: Mapping[str, str]) -> dict[str, str]:
        """The canonical fields of one row given as header -> value (first column wins)."""
        out: dict[str, str] = {}
        for header, field in zip(self.headers, self.fields, strict=True):
            if field is not None and field not in out and header in row:
                out[field] = row[header]
        return out


def columns_of(dialect: Dialect) -> Mapping[str, str]:
    """Header name -> canonical field for a dialect that is ingested."""
    return _COLUMNS[dialect]


def detect(headers: Sequence[str]) -> Layout:
    """Recognise a header row, or raise ``DialectError`` saying why in one line."""
    names = tuple(headers)
    stripped = tuple(h.strip() for h in names)
    if set(stripped) >= _SEARCH_MARKERS:
        raise DialectError(
            "website search export (Lot URL, Lot #, ...) is not the member feed; "
            "download the sales-data feed instead"
        )
    known, dialect = max(
        (sum(1 for n in stripped if n in columns), dialect) for dialect, columns in _COLUMNS.items()
    )
    columns = _COLUMNS[dialect]
    if known < _MIN_KNOWN or "lot_number" not in {columns.get(n) for n in stripped}:
        raise DialectError(
            f"no recognisable lot-number column among {len(names)} header(s) "
            f"(first: {stripped[0][:40]!r})"
            if names
            else "empty header row"
        )
    return Layout(
        dialect=dialect,
        headers=names,
        fields=tuple(columns.get(n) for n in stripped),
    )


def layout_for(dialect: str, headers: Sequence[str]) -> Layout:
    """Rebuild a layout from a message's dialect header and the file's header list."""
    d = Dialect(dialect)
    if d not in _COLUMNS:
        raise DialectError(f"dialect {dialect!r} is not ingested")
    columns = _COLUMNS[d]
    names = tuple(headers)
    return Layout(dialect=d, headers=names, fields=tuple(columns.get(n.strip()) for n in names))
