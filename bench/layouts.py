"""The two header layouts the generator writes, and how each renders a canonical row."""

from __future__ import annotations

from feed.dialects import CAMEL_COLUMNS, MEMBER_COLUMNS
from feed.layouts import CAMEL_61, MEMBER_59

# Member feed, 59 columns, in the exact order of real files (feed.layouts.MEMBER_59), each
# with its canonical field (feed.dialects) and whether real files quote it: strings are
# quoted, numbers bare, except the quoted numbers real files carry (High Bid "275.0",
# Cylinders "8").
_BARE = frozenset({
    "Id", "Yard number", "Sale Date M/D/CY", "Sale time (HHMM)", "Item#", "Lot number", "Year",
    "Odometer", "Est. Retail Value", "Repair cost", "Buy-It-Now Price", "AutoGrade",
})  # fmt: skip
MEMBER: tuple[tuple[str, str, bool], ...] = tuple(
    (h, MEMBER_COLUMNS.get(h, "id"), h not in _BARE) for h in MEMBER_59
)
MEMBER_HEADERS: tuple[str, ...] = tuple(h for h, _, _ in MEMBER)

CAMEL_HEADERS = CAMEL_61

# Paid-only fields the mirror replaces by the literal "[PREMIUM]".
CAMEL_PREMIUM = frozenset({"vin", "highBid", "estRetailValue", "imageUrl", "repairCost",
                           "buyItNowPrice", "sellerName"})  # fmt: skip
# Fields the mirror leaves empty on the same (free-tier) rows: with the placeholders that
# makes about 30% of all cells unknown, as in real re-exports.
CAMEL_BLANKED = ("gridRow", "itemNumber", "lotCondCode", "trim", "saleLight", "autoGrade",
                 "imageThumbnail", "runsDrives", "secondaryDamage")  # fmt: skip


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
        # Every mapped column as the canonical value; the ones below are re-spelled.
        **{camel: row[field] for camel, field in CAMEL_COLUMNS.items()},
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
    }
    out["specialNote"] = out["specialNote"].rstrip()
    if masked:
        out.update(dict.fromkeys(CAMEL_PREMIUM, "[PREMIUM]"))
        out.update(dict.fromkeys(CAMEL_BLANKED, ""))
    return [out[h] for h in CAMEL_HEADERS]
