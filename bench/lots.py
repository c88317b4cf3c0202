"""One synthetic feed row as canonical field -> member-feed text, deterministic by seed.

A lot's stable attributes (VIN, vehicle, yard, creation time) come from a generator seeded
by the lot number, so a lot re-listed in a later file keeps its identity; the volatile
attributes (sale date, bid, update time) come from the file's own generator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bench import catalog as c
from bench.vins import make_vin, pick, pick_variant, spell

LOT_BASE = 20_000_000
LOT_STRIDE = 4_000_000  # lots first listed in file k are LOT_BASE + k * LOT_STRIDE + i
EPOCH = datetime(2025, 10, 1, 6, 0, tzinfo=UTC)


def as_of(file_index: int) -> datetime:
    """When file k was exported: one day after file k-1."""
    return EPOCH + timedelta(days=file_index)


def lot_of(file_index: int, i: int) -> int:
    return LOT_BASE + file_index * LOT_STRIDE + i


def first_file_of(lot: int) -> int:
    return (lot - LOT_BASE) // LOT_STRIDE


def us_dst(day: date) -> bool:
    """US daylight saving time (since 2007): second Sunday of March to first Sunday of Nov."""
    march = date(day.year, 3, 8)
    start = march + timedelta(days=(6 - march.weekday()) % 7)
    november = date(day.year, 11, 1)
    end = november + timedelta(days=(6 - november.weekday()) % 7)
    return start <= day < end


def db2(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d-%H.%M.%S.") + f"{ts.microsecond:06d}"


def iso_z(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: float) -> str:
    """Feed amounts are floats as Python prints them: ``172691.0``, ``20314.23``, ``0.0``."""
    return str(round(value, 2))


@dataclass(frozen=True, slots=True)
class Stable:
    """What does not change between listings of one lot."""

    lot: int
    yard: c.Yard
    fields: dict[str, str]
    created: datetime
    vin_variant: str


def stable(seed: int, lot: int, cp1252_share: float, forced: str | None = None) -> Stable:
    """A lot's stable attributes; ``forced`` names a rare quirk this lot must show."""
    rng = random.Random(seed * 100_000_007 + lot)
    v = pick(rng, c.VEHICLES)
    yard = pick(rng, c.YARDS)
    if forced == "cp1252":
        yard = next(y for y in c.YARDS if y.country == "CAN")
    year = rng.randint(1995, 2025)
    variant = pick_variant(rng)
    if forced is not None and forced not in {"cp1252", "multiline"}:
        variant = forced
    vin = spell(make_vin(rng, v.wmi, year), variant)
    start = as_of(first_file_of(lot))
    if rng.random() < 0.03:  # real files: Last Updated Time earlier than Create Date/Time
        created = start + timedelta(seconds=rng.randint(3600, 172_800))
    else:
        created = start - timedelta(seconds=rng.randint(3600, 30 * 86_400))
    created = created.replace(microsecond=rng.randint(0, 999_999))
    title_case = rng.random() < 0.4  # one file mixes AUTOMATIC / Automatic, GAS / Gas
    odometer = pick(rng, (0.0, float(rng.randint(10, 260_000))))
    retail = 0.0 if rng.random() < 0.1 else rng.randint(80_000, 6_000_000) / 100
    repair = 0.0 if rng.random() < 0.6 else rng.randint(50_000, 3_000_000) / 100
    seller = pick(rng, c.SELLERS)
    if forced == "cp1252" or (yard.country == "CAN" and rng.random() < cp1252_share * 10):
        seller = c.CP1252_SELLER
    offsite = rng.random() < 0.05
    fields = {
        "yard_number": str(yard.number),
        "yard_name": yard.name,
        "vehicle_type": "M" if v.body == "MOTORCYC" else pick(rng, c.VEHICLE_TYPES),
        "year": str(year),
        "make": v.make,
        "model_group": v.model_group,
        "model_detail": v.model_detail,
        "body_style": v.body,
        "color": pick(rng, c.COLORS),
        "damage_description": pick(rng, c.DAMAGES),
        "secondary_damage": pick(rng, (*c.DAMAGES, "", "", "")),
        "title_state": yard.state,
        "title_type": pick(rng, c.TITLE_TYPES),
        "has_keys": pick(rng, c.KEYS),
        "lot_cond_code": pick(rng, c.LOT_COND_CODES),
        "vin": vin,
        "odometer": money(odometer),
        "odometer_brand": pick(rng, c.ODOMETER_BRANDS),
        "est_retail_value": money(retail),
        "repair_cost": money(repair),
        "engine": v.engine,
        "drive": v.drive,
        "transmission": pick(rng, c.TRANSMISSIONS) if v.fuel != "ELECTRIC" else "AUTOMATIC",
        "fuel_type": v.fuel.title() if title_case else v.fuel,
        "cylinders": v.cylinders,
        "runs_drives": pick(rng, c.RUNS_DRIVES),
        "location_city": yard.city,
        "location_state": yard.state,
        "location_zip": yard.zip,
        "location_country": yard.country,
        "currency_code": yard.currency,
        "image_thumbnail": (
            f"cs.copart.com/v1/AUTH_svc.pdoc00001/PIX{rng.randint(100, 499)}/"
            f"{rng.getrandbits(128):032x}.JPG"
        ),
        "source_created_at": db2(created),
        "grid_row": f"{pick(rng, 'ABCDEFGZ')}{rng.randint(1, 99):02d}",
        "trim": v.trim,
        "rentals": "Y" if rng.random() < 0.02 else "N",
        "wholesale": "Y" if rng.random() < 0.05 else "N",
        "seller_name": seller,
        "offsite_address1": f"{rng.randint(100, 9999)} INDUSTRIAL PKWY" if offsite else "",
        "offsite_state": yard.state if offsite else "",
        "offsite_city": yard.city if offsite else "",
        "offsite_zip": yard.zip.split(" ")[0] if offsite else "",
    }
    return Stable(lot=lot, yard=yard, fields=fields, created=created, vin_variant=variant)


def volatile(
    rng: random.Random,
    lot: Stable,
    file_index: int,
    row_id: int,
    updated: datetime,
    *,
    multiline: bool = False,
) -> dict[str, str]:
    """The full canonical row: stable fields plus this listing's sale and update data."""
    today = as_of(file_index)
    yard = lot.yard
    scheduled = rng.random() < 0.5  # about half the rows have no sale date ("0")
    sale_day = (today + timedelta(days=rng.randint(1, 21))).date() if scheduled else None
    zone_day = sale_day or today.date()
    zone = yard.zone_dst if us_dst(zone_day) else yard.zone_std
    sale_time = pick(rng, c.SALE_TIMES) if scheduled or rng.random() < 0.5 else 0
    bid = float(rng.randint(0, 600) * 25)
    v2 = file_index > 0 and rng.random() < 0.5  # later files use the newer image host
    host = "inventoryv2.copart.io" if v2 else "inventory.copart.io"
    country = "ca" if yard.country == "CAN" else "us"
    announcement = pick(rng, c.ANNOUNCEMENTS)
    if rng.random() < 0.001 or multiline:  # a quoted field spanning two lines
        announcement = "MULTI-LINE NOTE\nSECOND LINE"
    fields = dict(lot.fields)
    fields.update(
        {
            "id": str(row_id),
            "lot_number": str(lot.lot),
            "sale_date": sale_day.strftime("%Y%m%d") if sale_day else "0",
            "sale_day_of_week": c.DAYS[sale_day.weekday()] if sale_day else "",
            "sale_time": str(sale_time),
            "sale_time_zone": zone,
            "item_number": str(rng.randint(1, 999)) if scheduled else "0",
            "sale_status": pick(rng, c.SALE_STATUSES),
            "high_bid": money(bid),
            "special_note": pick(rng, c.SPECIAL_NOTES).ljust(28),
            "make_offer_eligible": "Y" if rng.random() < 0.3 else "N",
            "buy_it_now_price": money(0.0 if rng.random() < 0.9 else bid + 1000),
            "image_url": (
                f"http://{host}/v1/lotImages/{lot.lot}?country={country}"
                f"&brand=cprt&yardNumber={yard.number}"
            ),
            "source_updated_at": iso_z(updated),
            "sale_light": pick(rng, ("GREEN", "YELLOW", "RED", "")),
            "auto_grade": pick(rng, ("", "", "2.5", "3.5", "4.0")),
            "announcements": announcement,
        }
    )
    return fields
