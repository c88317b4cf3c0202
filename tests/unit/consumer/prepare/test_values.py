"""Every value format and trap of the feed, one parser each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from consumer.prepare import values as v


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("2010", 2010), ("172691.0", 172691), (" 8 ", 8), ("8.5", None), ("", None),
     ("abc", None), ("[PREMIUM]", None), ("NaN", None), ("1e3", 1000)],
)  # fmt: skip
def test_integers(cell: str, expected: int | None) -> None:
    assert v.int_in(-(10**9), 10**9)(cell) == expected


def test_integer_range_guards_keep_values_inside_the_column() -> None:
    year = v.int_in(v.MIN_YEAR, v.MAX_YEAR)
    assert (year("2010"), year("0"), year("20100"), year("1899")) == (2010, None, None, None)
    cylinders = v.int_in(0, 32)
    assert (cylinders("8"), cylinders("99999")) == (8, None)
    odometer = v.int_in(1, v.INT_MAX, zero_unknown=True)
    assert (odometer("0"), odometer("0.0"), odometer("172691.0")) == (None, None, 172691)
    assert odometer(str(v.INT_MAX + 1)) is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("20314.23", Decimal("20314.23")), ("275.0", Decimal("275.00")), ("0", None),
     ("0.0", None), ("", None), ("[PREMIUM]", None), ("-5", None), ("1e12", None),
     ("999999999999.99", Decimal("999999999999.99")), ("12.345", Decimal("12.34")),
     ("inf", None), ("4,550", None)],
)  # fmt: skip
def test_money(cell: str, expected: Decimal | None) -> None:
    assert v.money(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("true", True), ("false", False), ("Y", True), ("N", False), ("Yes", True),
     ("no", False), ("", None), ("maybe", None)],
)  # fmt: skip
def test_booleans(cell: str, expected: bool | None) -> None:
    assert v.boolean(cell) == expected


def test_keys_yes_no_exm() -> None:
    assert v.keys("YES") == (True, "YES")
    assert v.keys("NO") == (False, "NO")
    assert v.keys("EXM") == (None, "EXM")
    assert v.keys("true") == (True, "YES")
    assert v.keys("") == (None, None)
    assert v.keys("[PREMIUM]") == (None, None)


def test_text_placeholders_padding_and_case() -> None:
    assert v.text("[PREMIUM]") is None
    assert v.text("NO LICENSE PLATE            ") == "NO LICENSE PLATE"
    assert v.text("4.6L  8") == "4.6L  8"  # inner spacing is data
    assert v.text("   ") is None
    assert v.upper_text("Automatic") == v.upper_text("AUTOMATIC") == "AUTOMATIC"
    assert v.upper_text("Gas") == "GAS"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("20200702", dt.date(2020, 7, 2)), ("0", None), ("", None),
     ("2026-02-26", dt.date(2026, 2, 26)), ("20201302", None), ("00000000", None),
     ("2026-02-30", None)],
)  # fmt: skip
def test_sale_dates(cell: str, expected: dt.date | None) -> None:
    assert v.sale_date(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("1200", 1200), ("0", 0), ("2359", 2359), ("2400", None), ("1260", None),
     ("12:30", 1230), ("", None), ("1000.0", 1000)],
)  # fmt: skip
def test_hhmm(cell: str, expected: int | None) -> None:
    assert v.hhmm(cell) == expected


def test_update_times_are_utc_in_both_dialects() -> None:
    utc = dt.UTC
    assert v.timestamptz("2020-06-06T07:01:00Z") == dt.datetime(2020, 6, 6, 7, 1, tzinfo=utc)
    assert v.timestamptz("2026-02-25 19:54:28.000") == dt.datetime(
        2026, 2, 25, 19, 54, 28, tzinfo=utc
    )
    assert v.timestamptz("2020-06-06T09:01:00+02:00") == dt.datetime(2020, 6, 6, 7, 1, tzinfo=utc)
    assert v.timestamptz("") is None
    assert v.timestamptz("yesterday") is None
    assert v.timestamptz("0001-01-01T00:00:00Z") is None


def test_db2_create_time_is_naive() -> None:
    assert v.timestamp("2020-06-30-10.50.12.000197") == dt.datetime(2020, 6, 30, 10, 50, 12, 197)
    assert v.timestamp("2020-06-30-10.50.12") == dt.datetime(2020, 6, 30, 10, 50, 12)
    assert v.timestamp("2026-02-25 19:54:28.000") == dt.datetime(2026, 2, 25, 19, 54, 28)
    assert v.timestamp("2020-02-30-10.50.12.000197") is None
    assert v.timestamp("junk") is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("12.", 12), ("12.000", 12), (".0", 0), ("12.05", None), ("-3.0", -3), ("1_000.0", 1000)],
)
def test_integral_fast_path_agrees_with_decimal(cell: str, expected: int | None) -> None:
    assert v.int_in(-10, 10_000)(cell) == expected


def test_db2_fast_path_agrees_with_the_pattern() -> None:
    assert v.timestamp("2020-06-30-10.50.12.00019x") is None  # not digits: neither path
    assert v.timestamp("1899-06-30-10.50.12.000197") is None  # year out of range
    assert v.timestamp("2020-06-30-24.50.12.000197") is None  # no such hour
    assert v.timestamp("2020-06-30-10.50.12.1") == dt.datetime(2020, 6, 30, 10, 50, 12, 100000)
