import pytest

from feed.dialects import (
    CAMEL_COLUMNS,
    FIELDS,
    MEMBER_COLUMNS,
    Dialect,
    DialectError,
    detect,
    layout_for,
)
from feed.layouts import CAMEL_61, MEMBER_56, MEMBER_59, MEMBER_2020


def test_member_2020_layout_has_49_columns_all_but_id_mapped() -> None:
    layout = detect(MEMBER_2020)
    assert layout.dialect is Dialect.MEMBER
    assert len(layout.fields) == 49
    assert [h for h, f in zip(layout.headers, layout.fields, strict=True) if f is None] == ["Id"]
    assert layout.headers[layout.lot_index] == "Lot number"


def test_unknown_extra_columns_are_kept_but_unmapped() -> None:
    layout = detect([*MEMBER_2020, "Brand New Column"])
    assert layout.headers[-1] == "Brand New Column"
    assert layout.fields[-1] is None


def test_older_layout_without_id_and_with_lot_acv() -> None:
    headers = [h if h != "Est. Retail Value" else "Lot ACV" for h in MEMBER_2020[1:]]
    layout = detect(headers)
    assert "est_retail_value" in layout.fields


def test_camel_dialect() -> None:
    layout = detect(["_primaryKey", *CAMEL_COLUMNS])
    assert layout.dialect is Dialect.CAMEL
    assert layout.headers[layout.lot_index] == "lotId"


def test_search_export_is_refused_with_one_line() -> None:
    with pytest.raises(DialectError, match="website search export") as info:
        detect(["Lot URL", "Lot #", "Est. Retail value", "Sale date", "Year", "Make"])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "headers",
    [["<!DOCTYPE html>"], ["VIN", "Make", "Year"], [h for h in MEMBER_2020 if h != "Lot number"]],
)
def test_no_lot_number_column_is_refused(headers: list[str]) -> None:
    with pytest.raises(DialectError, match="lot-number"):
        detect(headers)


def test_canonical_takes_values_by_name() -> None:
    layout = detect(MEMBER_2020)
    row = dict.fromkeys(MEMBER_2020, "")
    row["Lot number"] = "26519090"
    row["High Bid =non-vix,Sealed=Vix"] = "275.0"
    canonical = layout.canonical(row)
    assert canonical["lot_number"] == "26519090"
    assert canonical["high_bid"] == "275.0"


def test_every_mapping_targets_a_canonical_field() -> None:
    assert set(MEMBER_COLUMNS.values()) <= set(FIELDS)
    assert set(CAMEL_COLUMNS.values()) <= set(FIELDS)
    assert set(FIELDS) == set(MEMBER_COLUMNS.values())


def test_layout_for_rebuilds_from_message_headers() -> None:
    layout = layout_for("copart-member", MEMBER_2020)
    assert layout == detect(MEMBER_2020)
    with pytest.raises(DialectError):
        layout_for("copart-search", MEMBER_2020)


@pytest.mark.parametrize(
    ("headers", "dialect"),
    [(MEMBER_2020, Dialect.MEMBER), (MEMBER_56, Dialect.MEMBER), (MEMBER_59, Dialect.MEMBER),
     (CAMEL_61, Dialect.CAMEL)],
)  # fmt: skip
def test_every_documented_layout_is_recognised_and_mapped(
    headers: tuple[str, ...], dialect: Dialect
) -> None:
    layout = detect(headers)
    assert layout.dialect is dialect
    unmapped = {h for h, f in zip(layout.headers, layout.fields, strict=True) if f is None}
    assert unmapped <= {"Id", "_primaryKey", "_lastSeenAt", "listingUrl"}
