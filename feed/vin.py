"""The VIN rule (design.md), mirrored by SQL ``normalize_vin()`` / ``vin_check_digit_ok()``.

Both implementations must give the same answer for every input; a property test keeps
them equal. That is why case folding and separator removal are spelled out on ASCII
only: locale-dependent ``upper()`` or ``\\s`` differ between Python and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DROP_SEPARATORS = str.maketrans("", "", " \t\r\n-")
# Look-alikes are mapped in place, never deleted: deleting shifts every later character.
_LOOK_ALIKES = str.maketrans("IOQ", "100")
_VALID = re.compile(r"[A-HJ-NPR-Z0-9]{11,17}")

_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
MASK_MARKERS = ("*", "[PREMIUM]")


def clean_vin(raw: str) -> str:
    """Uppercase (ASCII), drop spaces, tabs, line breaks and dashes; nothing else."""
    return raw.translate(_UPPER).translate(_DROP_SEPARATORS)


def normalize_vin(raw: str | None) -> str | None:
    """The canonical VIN, or None when the cleaned, mapped text is not a valid VIN."""
    if raw is None:
        return None
    candidate = clean_vin(raw).translate(_LOOK_ALIKES)
    return candidate if _VALID.fullmatch(candidate) else None


def check_digit(vin: str) -> str | None:
    """The ISO 3779 check digit of a 17-character VIN ('0'-'9' or 'X'), else None."""
    if len(vin) != 17 or not _VALID.fullmatch(vin):
        return None
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def check_digit_ok(vin: str | None) -> bool | None:
    """True/False for a 17-character VIN; None where the rule does not apply."""
    if vin is None:
        return None
    expected = check_digit(vin)
    return None if expected is None else vin[8] == expected


@dataclass(frozen=True, slots=True)
class VinReading:
    """What one raw VIN cell says, for mapping and for ``audit.vin_conflicts``."""

    raw: str
    normalized: str | None
    masked: bool
    transliterated: bool
    check_digit_ok: bool | None

    @property
    def invalid(self) -> bool:
        return self.normalized is None and not self.masked and self.raw.strip() != ""


def read_vin(raw: str | None) -> VinReading | None:
    """Classify a raw VIN cell; None for an empty cell (no VIN is not a conflict)."""
    if raw is None or raw.strip() == "":
        return None
    cleaned = clean_vin(raw)
    normalized = normalize_vin(raw)
    masked = any(marker in raw for marker in MASK_MARKERS)
    transliterated = normalized is not None and cleaned != normalized
    return VinReading(
        raw=raw,
        normalized=normalized,
        masked=masked,
        transliterated=transliterated,
        check_digit_ok=check_digit_ok(normalized),
    )
