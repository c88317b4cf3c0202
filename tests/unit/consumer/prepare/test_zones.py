"""Sale date + HHMM + zone abbreviation -> UTC, including HST/AK* and DST switches."""

from __future__ import annotations

import datetime as dt

import pytest

from consumer.prepare.zones import OFFSETS_MINUTES, auction_utc


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("EDT", utc(2020, 7, 2, 14)), ("EST", utc(2020, 7, 2, 15)), ("CDT", utc(2020, 7, 2, 15)),
     ("CST", utc(2020, 7, 2, 16)), ("MDT", utc(2020, 7, 2, 16)), ("MST", utc(2020, 7, 2, 17)),
     ("PDT", utc(2020, 7, 2, 17)), ("PST", utc(2020, 7, 2, 18)), ("HST", utc(2020, 7, 2, 20)),
     ("AKDT", utc(2020, 7, 2, 18)), ("AKST", utc(2020, 7, 2, 19)), ("AST", utc(2020, 7, 2, 14)),
     ("ADT", utc(2020, 7, 2, 13)), ("NST", utc(2020, 7, 2, 13, 30)),
     ("NDT", utc(2020, 7, 2, 12, 30)), ("pdt", utc(2020, 7, 2, 17))],
)  # fmt: skip
def test_every_zone(zone: str, expected: dt.datetime) -> None:
    assert auction_utc(dt.date(2020, 7, 2), 1000, zone) == expected


def test_same_yard_across_dst_switch() -> None:
    # A Dallas yard at 10:00 local: CST in winter, CDT in summer; the UTC hour moves.
    assert auction_utc(dt.date(2020, 3, 5), 1000, "CST") == utc(2020, 3, 5, 16)
    assert auction_utc(dt.date(2020, 3, 12), 1000, "CDT") == utc(2020, 3, 12, 15)


def test_late_sale_crosses_midnight_utc() -> None:
    assert auction_utc(dt.date(2020, 7, 2), 2100, "HST") == utc(2020, 7, 3, 7)


def test_unscheduled_unknown_zone_or_bad_time_give_none() -> None:
    assert auction_utc(None, 1200, "EDT") is None  # date 0 while the time is set
    assert auction_utc(dt.date(2020, 7, 2), None, "EDT") is None
    assert auction_utc(dt.date(2020, 7, 2), 1200, "XYZ") is None
    assert auction_utc(dt.date(2020, 7, 2), 1200, None) is None
    assert auction_utc(dt.date(2020, 7, 2), 1275, "EDT") is None


def test_offsets_are_whole_or_half_hours() -> None:
    assert all(m % 30 == 0 for m in OFFSETS_MINUTES.values())
