import pytest
from hypothesis import given
from hypothesis import strategies as st

from feed.vin import check_digit, check_digit_ok, normalize_vin, read_vin

REAL_VINS = [
    "4JGBF7BE5AA585531",
    "5TDYZ3DCXHS795095",
    "JTDVPRAEXLJ074010",
    "1FMZK1ZM7GKA75186",
    "KMHE24L10HA059207",
]


@pytest.mark.parametrize("vin", REAL_VINS)
def test_real_vins_pass_the_check_digit(vin: str) -> None:
    assert normalize_vin(vin) == vin
    assert check_digit_ok(vin) is True


def test_regulation_worked_example_has_check_digit_4() -> None:
    assert check_digit("1G4AH59H05G118341") == "4"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 1fmzk1zm-7gka 75186 ", "1FMZK1ZM7GKA75186"),
        ("KMHE24LI0HA059207", "KMHE24L10HA059207"),  # I -> 1 in place, nothing deleted
        ("KMHE24L1OHA059207", "KMHE24L10HA059207"),  # O -> 0
        ("KMHE24L1QHA059207", "KMHE24L10HA059207"),  # Q -> 0
        ("WDB1240221A1234", "WDB1240221A1234"),  # pre-1981: 11-17 characters allowed
        ("123456789", None),  # junk: too short
        ("5N1DL0MM5KC******", None),  # masked
        ("[PREMIUM]", None),
        ("", None),
        ("1FMZK1ZM7GKA751861", None),  # 18 characters
        ("1FMZK1ZM7GKA7518\u00e9", None),  # non-ASCII never folds into the alphabet
    ],
)
def test_normalize_vin(raw: str, expected: str | None) -> None:
    assert normalize_vin(raw) == expected


def test_normalize_vin_of_none_is_none() -> None:
    assert normalize_vin(None) is None


def test_a_wrong_check_digit_is_a_flag_not_a_rejection() -> None:
    vin = "1FMZK1ZM8GKA75186"
    assert normalize_vin(vin) == vin
    assert check_digit_ok(vin) is False


def test_short_vin_has_no_check_digit_verdict() -> None:
    assert check_digit_ok("WDB1240221A1234") is None


def test_read_vin_classifies() -> None:
    masked = read_vin("5N1DL0MM5KC******")
    assert masked is not None
    assert (masked.masked, masked.invalid, masked.normalized) == (True, False, None)
    junk = read_vin("123456789")
    assert junk is not None
    assert (junk.masked, junk.invalid) == (False, True)
    mapped = read_vin("kmhe24li0ha059207")
    assert mapped is not None
    assert mapped.transliterated
    assert mapped.normalized == "KMHE24L10HA059207"
    assert mapped.check_digit_ok is True
    assert read_vin("   ") is None


@given(st.text())
def test_normalized_vins_are_fixed_points(raw: str) -> None:
    vin = normalize_vin(raw)
    if vin is not None:
        assert normalize_vin(vin) == vin
        assert 11 <= len(vin) <= 17
        assert not set(vin) & set("IOQ")


@given(st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=17, max_size=17))
def test_check_digit_is_a_digit_or_x(vin: str) -> None:
    digit = check_digit(vin)
    assert digit is not None
    assert digit in "0123456789X"
