"""Both dialects map onto the same typed row; unknowns are counted, never stored as values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from consumer.prepare.mapped import EPOCH, LOT_COLUMNS, VEHICLE_ATTRS
from consumer.prepare.mapping import RowProblemError, map_row
from tests.unit.consumer.feedrows import GOOD_VIN, member_row


def camel_row(**cells: str) -> dict[str, str]:
    row = {
        "_primaryKey": "abc", "_firstSeenAt": "2026-02-20 10:00:00.000",
        "_lastSeenAt": "2026-02-25 19:54:28.000", "lotId": "44001122",
        "updatedAt": "2026-02-25 19:54:28.000", "vin": "[PREMIUM]", "yardNumber": "53",
        "yardName": "FL - MIAMI", "saleDate": "2026-02-26", "saleDayOfWeek": "THURSDAY",
        "saleTime": "1000", "saleTimeZone": "EST", "itemNumber": "12", "vehicleType": "V",
        "year": "2018", "make": "TOYOTA", "modelGroup": "CAMRY", "modelDetail": "CAMRY SE",
        "bodyStyle": "SEDAN 4D", "exteriorColor": "WHITE", "damageDescription": "REAR END",
        "secondaryDamage": "", "saleTitleState": "FL", "saleTitleType": "SC", "hasKeys": "true",
        "lotCondCode": "E", "mileage": "45000", "odometerBrand": "A",
        "estRetailValue": "[PREMIUM]", "repairCost": "1200.5", "engine": "2.5L 4",
        "drivetrain": "Front-wheel Drive", "transmission": "automatic", "fuelType": "Gas",
        "cylinders": "4", "runsDrives": "DEFAULT", "saleStatus": "On Minimum Bid",
        "highBid": "[PREMIUM]", "specialNote": "", "locationCity": "MIAMI",
        "locationState": "FL", "locationZip": "33054", "locationCountry": "USA",
        "currencyCode": "USD", "imageThumbnail": "cs.copart.com/v1/AUTH/x.JPG",
        "imageUrl": "[PREMIUM]", "gridRow": "", "makeOfferEligible": "false",
        "buyItNowPrice": "0", "trim": "SE", "rentals": "false", "wholesale": "false",
        "sellerName": "", "offsiteAddress1": "", "offsiteState": "", "offsiteCity": "",
        "offsiteZip": "", "saleLight": "", "autoGrade": "", "announcements": "",
        "listingUrl": "https://example.invalid/lot/44001122",
    }  # fmt: skip
    row.update(cells)
    return row


def lot_of(row: Any) -> dict[str, Any]:
    return dict(zip(LOT_COLUMNS, row.lot, strict=True))


def vehicle_of(row: Any) -> dict[str, Any]:
    return dict(zip(VEHICLE_ATTRS, row.vehicle, strict=True))


def test_member_row() -> None:
    m = map_row("copart-member", member_row("26519090"))
    lot = lot_of(m)
    assert m.lot_external_id == lot["lot_external_id"] == "26519090"
    assert (lot["vin"], lot["vin_raw"]) == (GOOD_VIN, GOOD_VIN)
    assert lot["odometer"] == 172691
    assert lot["odometer_brand"] == "A"
    assert lot["est_retail_value"] == Decimal("20314.23")
    assert lot["repair_cost"] is None
    assert lot["buy_it_now_price"] is None
    assert lot["high_bid"] == m.high_bid == Decimal("275.00")
    assert (lot["has_keys"], lot["keys_code"]) == (True, "YES")
    assert lot["special_note"] == "NO LICENSE PLATE"
    assert lot["sale_time_hhmm"] == 1000
    assert lot["sale_time_zone"] == "PDT"
    assert lot["auction_datetime_utc"] == dt.datetime(2020, 7, 2, 17, tzinfo=dt.UTC)
    assert lot["status"] == m.status == "Pure Sale"
    assert lot["source_created_at"] == dt.datetime(2020, 6, 30, 10, 50, 12, 197)
    assert lot["make_offer_eligible"] is False
    assert lot["location_zip"] == "94590 7203"
    vehicle = vehicle_of(m)
    assert (vehicle["year"], vehicle["cylinders"], vehicle["engine"]) == (2010, 8, "4.6L  8")
    assert (vehicle["transmission"], vehicle["fuel_type"]) == ("AUTOMATIC", "GAS")
    assert m.fields_total == 48  # 49 columns, "Id" is not a feed field
    assert m.fields_unknown == 3  # Secondary Damage "", Repair cost 0.0, Buy-It-Now 0.0
    assert [i.kind for i in m.images] == ["thumbnail", "lot_images"]
    assert m.images[0].url == "https://" + m.images[0].storage_key
    assert m.images[1].storage_key.startswith("inventory.copart.io/v1/lotImages/26519090?")


def test_camel_row_with_premium_placeholders() -> None:
    m = map_row("copart-camel", camel_row())
    lot = lot_of(m)
    assert m.lot_external_id == "44001122"
    assert m.vin is not None
    assert m.vin.masked
    assert lot["vin"] is None
    assert lot["est_retail_value"] is None
    assert lot["high_bid"] is None
    assert lot["image_url"] is None
    assert [i.kind for i in m.images] == ["thumbnail"]
    assert lot["sale_date"] == dt.date(2026, 2, 26)
    assert lot["auction_datetime_utc"] == dt.datetime(2026, 2, 26, 15, tzinfo=dt.UTC)
    assert m.source_updated_at == dt.datetime(2026, 2, 25, 19, 54, 28, tzinfo=dt.UTC)
    assert lot["source_created_at"] == dt.datetime(2026, 2, 20, 10)
    assert (lot["has_keys"], lot["keys_code"]) == (True, "YES")
    assert lot["repair_cost"] == Decimal("1200.50")
    assert lot["make_offer_eligible"] is False
    assert vehicle_of(m)["transmission"] == "AUTOMATIC"
    assert m.fields_total == 58  # every canonical field has a camelCase column
    assert m.fields_unknown >= 14  # empties and [PREMIUM] placeholders


def test_same_values_in_both_dialects_map_alike() -> None:
    member = map_row("copart-member", member_row("1", Transmission="MANUAL"))
    camel = map_row("copart-camel", camel_row(transmission="Manual"))
    assert vehicle_of(member)["transmission"] == vehicle_of(camel)["transmission"] == "MANUAL"


def test_exm_keys_and_unscheduled_sale() -> None:
    m = map_row(
        "copart-member",
        member_row("2", **{"Has Keys-Yes or No": "EXM", "Sale Date M/D/CY": "0"}),
    )
    lot = lot_of(m)
    assert (lot["has_keys"], lot["keys_code"]) == (None, "EXM")
    assert lot["sale_date"] is None
    assert lot["sale_time_hhmm"] == 1000
    assert lot["auction_datetime_utc"] is None
    assert m.sale_date is None


def test_bad_values_become_unknown_not_errors() -> None:
    m = map_row(
        "copart-member",
        member_row("3", Year="20100", Cylinders="99999", Odometer="1e20",
                   **{"Est. Retail Value": "1e15", "Time Zone": "XYZ"}),
    )  # fmt: skip
    lot, vehicle = lot_of(m), vehicle_of(m)
    assert vehicle["year"] is None
    assert vehicle["cylinders"] is None
    assert lot["odometer"] is None
    assert lot["est_retail_value"] is None
    assert lot["auction_datetime_utc"] is None
    assert m.fields_unknown == 3 + 5


def test_unparseable_update_time_sorts_as_epoch() -> None:
    m = map_row("copart-member", member_row("4", "not a time"))
    assert m.source_updated_at is None
    assert lot_of(m)["source_updated_at"] == EPOCH


def test_older_layout_and_extra_columns() -> None:
    row = member_row("5")
    row["Lot ACV"] = row.pop("Est. Retail Value")
    row["Something New"] = "x"
    m = map_row("copart-member", row)
    assert lot_of(m)["est_retail_value"] == Decimal("20314.23")
    assert m.fields_total == 48


def test_non_string_cells_are_read_as_text() -> None:
    row: dict[str, Any] = member_row("6")
    row["Year"] = 2011
    row["Secondary Damage"] = None
    m = map_row("copart-member", row)
    assert vehicle_of(m)["year"] == 2011


def test_rows_without_lot_number_or_known_dialect() -> None:
    with pytest.raises(RowProblemError) as no_lot:
        map_row("copart-member", member_row("   "))
    assert no_lot.value.reason == "no_lot_number"
    with pytest.raises(RowProblemError) as dialect:
        map_row("copart-search", member_row("7"))
    assert dialect.value.reason == "dialect"
