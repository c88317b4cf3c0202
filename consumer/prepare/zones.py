"""Sale date + HHMM + zone abbreviation -> UTC.

Fixed offsets, not tz database names: the feed writes the abbreviation of the yard's zone
ON THE SALE DATE (the same yard says CST in winter and CDT in summer), so the abbreviation
already says whether DST applies. An unknown abbreviation gives no auction time (NULL).
"""

from __future__ import annotations

import datetime as dt

_H = 60  # minutes per hour
OFFSETS_MINUTES: dict[str, int] = {
    "EDT": -4 * _H, "EST": -5 * _H,
    "CDT": -5 * _H, "CST": -6 * _H,
    "MDT": -6 * _H, "MST": -7 * _H,
    "PDT": -7 * _H, "PST": -8 * _H,
    "HST": -10 * _H,  # Hawaii has no DST; "HDT" would be Aleutian only and never seen
    "AKDT": -8 * _H, "AKST": -9 * _H,
    # Canadian yards (currency CAD): Atlantic and Newfoundland.
    "ADT": -3 * _H, "AST": -4 * _H,
    "NDT": -(2 * _H + 30), "NST": -(3 * _H + 30),
}  # fmt: skip

_ZONES = {name: dt.timezone(dt.timedelta(minutes=m), name) for name, m in OFFSETS_MINUTES.items()}


def zone_for(abbreviation: str | None) -> dt.timezone | None:
    if abbreviation is None:
        return None
    return _ZONES.get(abbreviation.strip().upper())


def auction_utc(
    sale_date: dt.date | None, hhmm: int | None, abbreviation: str | None
) -> dt.datetime | None:
    """The auction start in UTC, or None when unscheduled, the time is bad or the zone unknown."""
    if sale_date is None or hhmm is None:
        return None
    zone = zone_for(abbreviation)
    hours, minutes = divmod(hhmm, 100)
    if zone is None or not (0 <= hours < 24 and 0 <= minutes < 60):
        return None
    local = dt.datetime.combine(sale_date, dt.time(hours, minutes), tzinfo=zone)
    return local.astimezone(dt.UTC)
