"""Typed value parsers of feed cells: one place per value format.

Every parser takes the cell text and returns the typed value or None, and None always
means "unknown": empty, a placeholder such as ``[PREMIUM]``, a 0 that the feed uses for
"no value", unparseable, or outside what the target column can hold (a bad value becomes
NULL and is counted, it never fails a batch).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

Parser = Callable[[str], object]

SMALLINT_MAX = 32_767
INT_MAX = 2_147_483_647
MONEY_LIMIT = Decimal(10) ** 12  # numeric(14,2): 12 digits before the point
_CENT = Decimal("0.01")
MIN_YEAR, MAX_YEAR = 1900, 2100  # a model year or date outside this is a typo, not a car
# No column holds an integer of more digits than this (bigint: 19). ``int()`` of a decimal
# such as 1E999999999 would build that number digit by digit: minutes of CPU per cell.
_MAX_DIGITS = 19


def is_placeholder(text: str) -> bool:
    """``[PREMIUM]`` and its kin: a bracketed token standing in for a hidden value."""
    return len(text) > 2 and text[0] == "[" and text[-1] == "]"


def text(cell: str) -> str | None:
    """Surrounding blanks stripped (Special Note is padded to 28 chars); empty -> None."""
    value = cell.strip()
    # is_placeholder inlined: this runs for ~30 cells of every row.
    if not value or (value[0] == "[" and value[-1] == "]" and len(value) > 2):
        return None
    return value


def upper_text(cell: str) -> str | None:
    """Mixed case in one file (``AUTOMATIC``/``Automatic``, ``GAS``/``Gas``) -> upper."""
    value = text(cell)
    return None if value is None else value.upper()


def _integral(cell: str) -> int | None:
    value = cell.strip()
    head, dot, tail = value.partition(".")
    if dot and head.isdecimal() and (not tail or (tail.isdecimal() and not tail.strip("0"))):
        return int(head)  # "172691.0": the common float spelling, without an exception
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = Decimal(value)  # "172691.0", "8.0"
    except InvalidOperation:
        return None
    if not number.is_finite() or number.adjusted() >= _MAX_DIGITS:
        return None
    if number != number.to_integral_value():
        return None
    return int(number)


def int_in(low: int, high: int, *, zero_unknown: bool = False) -> Callable[[str], int | None]:
    """An integer parser whose result always fits the column (smallint/integer ranges)."""

    def parse(cell: str) -> int | None:
        value = _integral(cell)
        if value is None or (zero_unknown and value == 0) or not low <= value <= high:
            return None
        return value

    return parse


def money(cell: str) -> Decimal | None:
    """``20314.23``, ``"275.0"`` -> Decimal with 2 places; 0 / negative / >= 10^12 -> None."""
    value = cell.strip()
    if not value or is_placeholder(value):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite() or number <= 0 or number >= MONEY_LIMIT:
        return None
    return number.quantize(_CENT, rounding=ROUND_HALF_EVEN)


_TRUE = frozenset({"true", "t", "y", "yes", "1"})
_FALSE = frozenset({"false", "f", "n", "no", "0"})


def boolean(cell: str) -> bool | None:
    value = cell.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def keys(cell: str) -> tuple[bool | None, str | None]:
    """Has Keys: YES -> (True, 'YES'), NO -> (False, 'NO'), EXM -> (None, 'EXM')."""
    value = cell.strip().upper()
    if value in {"YES", "Y", "TRUE"}:
        return True, "YES"
    if value in {"NO", "N", "FALSE"}:
        return False, "NO"
    if value and not is_placeholder(value) and value.isalpha() and len(value) <= 8:
        return None, value  # EXM (exempt) and any other short code: kept, not a yes/no
    return None, None


def _date(year: int, month: int, day: int) -> dt.date | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def sale_date(cell: str) -> dt.date | None:
    """Member ``20200702`` (``0``: unscheduled) or camelCase ``2026-02-26`` (empty: unscheduled)."""
    value = cell.strip()
    # isascii: "\u00b2".isdigit() is True, yet int() refuses it.
    if len(value) == 8 and value.isascii() and value.isdigit():
        return _date(int(value[:4]), int(value[4:6]), int(value[6:]))
    if len(value) >= 10 and value[4] == "-" and value[7] == "-":
        head = value[:10]
        digits = head[:4] + head[5:7] + head[8:10]
        if digits.isascii() and digits.isdigit():
            return _date(int(head[:4]), int(head[5:7]), int(head[8:10]))
    return None


def hhmm(cell: str) -> int | None:
    """Bare ``1200`` (or ``12:00``) -> 1200; None unless a real clock time."""
    value = cell.strip()
    if ":" in value:
        hours, _, minutes = value.partition(":")
        value = hours + minutes[:2]
    number = _integral(value)
    if number is None or not 0 <= number <= 2359 or number % 100 >= 60:
        return None
    return number


def timestamptz(cell: str) -> dt.datetime | None:
    """``2020-06-06T07:01:00Z`` or ``2026-02-25 19:54:28.000`` (both UTC) -> aware UTC."""
    value = cell.strip()
    if len(value) < 10:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


_DB2 = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(\d{2})\.(\d{2})\.(\d{2})(?:\.(\d{1,6}))?")


def timestamp(cell: str) -> dt.datetime | None:
    """DB2 ``2020-06-30-10.50.12.000197`` (no zone) or ISO -> naive timestamp."""
    value = cell.strip()
    if (
        len(value) == 26
        and value[4] == value[7] == value[10] == "-"
        and (value[13] == value[16] == value[19] == ".")
    ):
        digits = value[:4] + value[5:7] + value[8:10] + value[11:13] + value[14:16] + value[17:19]
        if (digits + value[20:]).isascii() and (digits + value[20:]).isdigit():
            # The feed's one spelling (6-digit fraction), sliced instead of matched.
            return _db2((digits[:4], digits[4:6], digits[6:8], digits[8:10], digits[10:12],
                         digits[12:14], value[20:]))  # fmt: skip
    match = _DB2.fullmatch(value)
    if match is None:
        aware = timestamptz(value)
        if aware is None:
            return None
        # An ISO value with a zone is brought to UTC first; a naive one is kept as written.
        return aware.replace(tzinfo=None)
    return _db2(match.groups())


def _db2(parts: Sequence[str | None]) -> dt.datetime | None:
    """Year, month, day, hour, minute, second (digits) and an optional 1-6 digit fraction."""
    year, month, day, hour, minute, second, fraction = (p or "0" for p in parts)
    if not MIN_YEAR <= int(year) <= MAX_YEAR:
        return None
    try:
        return dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int(fraction.ljust(6, "0")),
        )  # fmt: skip
    except ValueError:
        return None
