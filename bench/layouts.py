"""The two header layouts the generator writes, and how each renders a canonical row."""

from __future__ import annotations

from feed.layouts import CAMEL_61, MEMBER_59

# Member feed, 59 columns (2020's 49 + 7 + 3), in the exact order of real files.
# (header, canonical field, written quoted?) - strings are quoted, numbers bare, except the
# quoted numbers real files carry (High Bid "275.0", Cylinders "8").
MEMBER: tuple[tuple[str, str, bool], ...] = (
    ("Id", "id", False),
    ("Yard number", "yard_number", False),
    ("Yard name", "yard_name", True),
    ("Sale Date M/D/CY", "sale_date", False),
    ("Day of Week", "sale_day_of_week", True),
    ("Sale time (HHMM)", "sale_time", False),
    ("Time Zone", "sale_time_zone", True),
    ("Item#", "item_number", False),
    ("Lot number", "lot_number", False),
    ("Vehicle Type", "vehicle_type", True),
    ("Year", "year", False),
    ("Make", "make", True),
    ("Model Group", "model_group", True),
    ("Model Detail", "model_detail", True),
    ("Body Style", "body_style", True),
    ("Color", "color", True),
    ("Damage Description", "damage_description", True),
    ("Secondary Damage", "secondary_damage", True),
    ("Sale Title State", "title_state", True),
    ("Sale Title Type", "title_type", True),
    ("Has Keys-Yes or No", "has_keys", True),
    ("Lot Cond. Code", "lot_cond_code", True),
    ("VIN", "vin", True),
    ("Odometer", "odometer", False),
    ("Odometer Brand", "odometer_brand", True),
    ("Est. Retail Value", "est_retail_value", False),
    ("Repair cost", "repair_cost", False),
    ("Engine", "engine", True),
    ("Drive", "drive", True),
    ("Transmission", "transmission", True),
    ("Fuel Type", "fuel_type", True),
    ("Cylinders", "cylinders", True),
    ("Runs/Drives", "runs_drives", True),
    ("Sale Status", "sale_status", True),
    ("High Bid =non-vix,Sealed=Vix", "high_bid", True),
    ("Special Note", "special_note", True),
    ("Location city", "location_city", True),
    ("Location state", "location_state", True),
    ("Location ZIP", "location_zip", True),
    ("Location country", "location_country", True),
    ("Currency Code", "currency_code", True),
    ("Image Thumbnail", "image_thumbnail", True),
    ("Create Date/Time", "source_created_at", True),
    ("Grid/Row", "grid_row", True),
    ("Make-an-Offer Eligible", "make_offer_eligible", True),
    ("Buy-It-Now Price", "buy_it_now_price", False),
    ("Image URL", "image_url", True),
    ("Trim", "trim", True),
    ("Last Updated Time", "source_updated_at", True),
    ("Rentals", "rentals", True),
    ("Copart Select", "wholesale", True),
    ("Seller Name", "seller_name", True),
    ("Offsite Address1", "offsite_address1", True),
    ("Offsite State", "offsite_state", True),
    ("Offsite City", "offsite_city", True),
    ("Offsite Zip", "offsite_zip", True),
    ("Sale Light", "sale_light", True),
    ("AutoGrade", "auto_grade", False),
    ("Announcements", "announcements", True),
)
MEMBER_HEADERS: tuple[str, ...] = tuple(h for h, _, _ in MEMBER)
# The generator writes the documented layout, column for column.
if MEMBER_HEADERS != MEMBER_59:
    raise AssertionError("bench.layouts.MEMBER differs from feed.layouts.MEMBER_59")

CAMEL_HEADERS = CAMEL_61

# Paid-only fields the mirror replaces by the literal "[PREMIUM]".
CAMEL_PREMIUM = frozenset({"vin", "highBid", "estRetailValue", "imageUrl", "repairCost",
                           "buyItNowPrice", "sellerName"})  # fmt: skip
# Fields the mirror leaves empty on the same (free-tier) rows: with the placeholders that
# makes about 30% of all cells unknown, as in real re-exports.
CAMEL_BLANKED = ("gridRow", "itemNumber", "lotCondCode", "trim", "saleLight", "autoGrade",
                 "imageThumbnail", "runsDrives", "secondaryDamage")  # fmt: skip
_CAMEL_FIELD = {
    "yardNumber": "yard_number", "yardName": "yard_name", "saleDayOfWeek": "sale_day_of_week",
    "saleTimeZone": "sale_time_zone", "itemNumber": "item_number",
    "vehicleType": "vehicle_type", "year": "year", "make": "make",
    "modelGroup": "model_group", "modelDetail": "model_detail", "bodyStyle": "body_style",
    "exteriorColor": "color", "damageDescription": "damage_description",
    "secondaryDamage": "secondary_damage", "saleTitleState": "title_state",
    "saleTitleType": "title_type", "lotCondCode": "lot_cond_code",
    "odometerBrand": "odometer_brand", "engine": "engine", "drivetrain": "drive",
    "transmission": "transmission", "fuelType": "fuel_type", "cylinders": "cylinders",
    "runsDrives": "runs_drives", "saleStatus": "sale_status", "specialNote": "special_note",
    "locationCity": "location_city", "locationState": "location_state",
    "locationZip": "location_zip", "locationCountry": "location_country",
    "currencyCode": "currency_code", "imageThumbnail": "image_thumbnail",
    "gridRow": "grid_row", "trim": "trim", "offsiteAddress1": "offsite_address1",
    "offsiteState": "offsite_state", "offsiteCity": "offsite_city", "offsiteZip": "offsite_zip",
    "saleLight": "sale_light", "autoGrade": "auto_grade", "announcements": "announcements",
    "vin": "vin", "sellerName": "seller_name",
}  # fmt: skip


def quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def member_line(row: dict[str, str]) -> list[str]:
    """The member-feed cells of one row, quoted as real files quote them."""
    return [quote(row[f]) if q else row[f] for _, f, q in MEMBER]


def _bool(flag: str) -> str:
    return {"YES": "true", "Y": "true", "NO": "false", "N": "false"}.get(flag, "")


def camel_cells(row: dict[str, str], masked: bool) -> list[str]:
    """The camelCase re-export of one row: ISO dates, true/false, [PREMIUM] placeholders."""
    updated = row["source_updated_at"].replace("T", " ").removesuffix("Z") + ".000"
    created = row["source_created_at"]
    first_seen = f"{created[:10]} {created[11:19].replace('.', ':')}.{created[20:23]}"
    date = row["sale_date"]
    out = {
        "_primaryKey": f"copart:{row['lot_number']}",
        "_firstSeenAt": first_seen,
        "_lastSeenAt": updated,
        "lotId": row["lot_number"],
        "updatedAt": updated,
        "saleDate": "" if date == "0" else f"{date[:4]}-{date[4:6]}-{date[6:]}",
        "saleTime": "" if row["sale_time"] == "0" else row["sale_time"],
        "hasKeys": _bool(row["has_keys"]),
        "mileage": row["odometer"].removesuffix(".0"),
        "estRetailValue": row["est_retail_value"],
        "repairCost": row["repair_cost"],
        "highBid": row["high_bid"],
        "imageUrl": row["image_url"],
        "makeOfferEligible": _bool(row["make_offer_eligible"]),
        "buyItNowPrice": row["buy_it_now_price"],
        "rentals": _bool(row["rentals"]),
        "wholesale": _bool(row["wholesale"]),
        "listingUrl": f"https://www.copart.com/lot/{row['lot_number']}",
        **{camel: row[field] for camel, field in _CAMEL_FIELD.items()},
    }
    out["specialNote"] = out["specialNote"].rstrip()
    if masked:
        out.update(dict.fromkeys(CAMEL_PREMIUM, "[PREMIUM]"))
        out.update(dict.fromkeys(CAMEL_BLANKED, ""))
    return [out[h] for h in CAMEL_HEADERS]
