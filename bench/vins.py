"""Synthetic VINs with real check digits, and the damaged spellings real files carry."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from bench.catalog import VIN_ALPHABET, YEAR_CODES
from feed.vin import check_digit

_DIGITS = "0123456789"
T = TypeVar("T")


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """``rng.choice`` without its bounds bookkeeping: the generator calls it ~40 times a row."""
    return options[int(rng.random() * len(options))]


# Raw-VIN variants and their share of rows; the rest are valid 17-character VINs.
VARIANTS: tuple[tuple[str, float], ...] = (
    ("empty", 0.02),
    ("masked", 0.02),
    ("premium", 0.01),
    ("junk", 0.005),
    ("transliterated", 0.01),
    ("bad_check", 0.005),
    ("lowercase_dashed", 0.005),
)


def year_code(year: int) -> str:
    return YEAR_CODES[(year - 1980) % 30]


def make_vin(rng: random.Random, wmi: str, year: int) -> str:
    """A 17-character VIN whose 9th character is its ISO 3779 check digit."""
    vds = "".join(pick(rng, VIN_ALPHABET) for _ in range(5))
    plant = pick(rng, VIN_ALPHABET)
    serial = "".join(pick(rng, _DIGITS) for _ in range(6))
    draft = f"{wmi}{vds}0{year_code(year)}{plant}{serial}"  # position 9 has weight 0
    digit = check_digit(draft)
    if digit is None:  # cannot happen for the alphabet used; keeps the type honest
        raise ValueError(f"not a VIN: {draft}")
    return f"{draft[:8]}{digit}{draft[9:]}"


def pick_variant(rng: random.Random) -> str:
    roll = rng.random()
    for name, share in VARIANTS:
        if roll < share:
            return name
        roll -= share
    return "valid"


def spell(vin: str, variant: str) -> str:
    """The raw cell for a variant of a valid VIN."""
    if variant == "empty":
        return ""
    if variant == "masked":
        return f"{vin[:11]}******"
    if variant == "premium":
        return "[PREMIUM]"
    if variant == "junk":
        return "123456789"
    if variant == "transliterated":
        # Look-alikes typed for digits: O for 0, I for 1 (Q for 0 when neither occurs).
        if "0" in vin[3:] or "1" in vin[3:]:
            return vin[:3] + vin[3:].replace("0", "O").replace("1", "I")
        return vin[:-1] + "Q"
    if variant == "bad_check":
        wrong = "X" if vin[8] != "X" else "0"
        return f"{vin[:8]}{wrong}{vin[9:]}"
    if variant == "lowercase_dashed":
        return f"{vin[:8].lower()}-{vin[8:]} "
    return vin
