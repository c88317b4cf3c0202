"""SQL normalize_vin() / vin_check_digit() / vin_check_digit_ok() equal feed/vin.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feed import vin
from tests.databases import MigratedTemplate, fresh_database

pytestmark = pytest.mark.integration

VALID = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VIN_LIKE = VALID + "IOQ" + "abcdefghijklmnopqrstuvwxyz" + " -\t\r\n*"
REAL_VINS = (
    "4JGBF7BE5AA585531",
    "5TDYZ3DCXHS795095",
    "JTDVPRAEXLJ074010",
    "1FMZK1ZM7GKA75186",
    "KMHE24L10HA059207",
)

# PostgreSQL text cannot hold NUL, and UTF-8 cannot carry lone surrogates.
any_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
vin_like = st.text(alphabet=VIN_LIKE, min_size=9, max_size=21)
valid_17 = st.text(alphabet=VALID, min_size=17, max_size=17)


@st.composite
def with_right_check_digit(draw: st.DrawFn) -> str:
    """A 17-character VIN whose 9th character is correct, so the True branch is exercised."""
    body = draw(valid_17)
    digit = vin.check_digit(body)
    assert digit is not None
    return body[:8] + digit + body[9:]


samples = st.lists(
    st.one_of(any_text, vin_like, valid_17, with_right_check_digit()), min_size=1, max_size=40
)


@pytest_asyncio.fixture(scope="module")
async def conn(
    migrated_template: MigratedTemplate, pg_admin_dsn: str, pg_dsn: str, pg_superuser_dsn: str
) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(migrated_template, pg_admin_dsn, pg_dsn, pg_superuser_dsn) as db:
        connection = await asyncpg.connect(db.etl_dsn)  # the functions serve the consumer
        try:
            yield connection
        finally:
            await connection.close()


async def sql_answers(
    conn: asyncpg.Connection, values: Sequence[str]
) -> list[tuple[str | None, str | None, bool | None, bool | None]]:
    """One round trip for a whole list: (normalize_vin, vin_check_digit, ok(raw), ok(norm))."""
    rows = await conn.fetch(
        """SELECT normalize_vin(v), vin_check_digit(v), vin_check_digit_ok(v),
                  vin_check_digit_ok(normalize_vin(v))
           FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n""",
        list(values),
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def python_answers(value: str) -> tuple[str | None, str | None, bool | None, bool | None]:
    return (
        vin.normalize_vin(value),
        vin.check_digit(value),
        vin.check_digit_ok(value),
        vin.check_digit_ok(vin.normalize_vin(value)),
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=samples)
async def test_sql_equals_python_for_any_input(conn: asyncpg.Connection, values: list[str]) -> None:
    assert await sql_answers(conn, values) == [python_answers(v) for v in values]


async def test_look_alikes_are_mapped_in_place(conn: asyncpg.Connection) -> None:
    assert await conn.fetchval("SELECT normalize_vin('KMHE24LI0HA059207')") == "KMHE24L10HA059207"
    assert await conn.fetchval("SELECT normalize_vin('kmhe24l10ha059207')") == "KMHE24L10HA059207"


async def test_separators_and_case_are_dropped(conn: asyncpg.Connection) -> None:
    got = await conn.fetchval("SELECT normalize_vin(' 1fmzk1zm-7gka 75186 ')")
    assert got == "1FMZK1ZM7GKA75186"


@pytest.mark.parametrize(
    "raw", ["", "123456789", "5N1DL0MM5KC******", "[PREMIUM]", "1FMZK1ZM7GKA751860"]
)
async def test_invalid_vins_normalize_to_null(conn: asyncpg.Connection, raw: str) -> None:
    assert await conn.fetchval("SELECT normalize_vin($1)", raw) is None


async def test_null_in_null_out(conn: asyncpg.Connection) -> None:
    row = await conn.fetchrow(
        "SELECT normalize_vin(NULL), vin_check_digit(NULL), vin_check_digit_ok(NULL)"
    )
    assert row is not None
    assert tuple(row) == (None, None, None)


async def test_real_vins_pass_the_check_digit(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT vin_check_digit_ok(v) FROM unnest($1::text[]) AS v", list(REAL_VINS)
    )
    assert [r[0] for r in rows] == [True] * len(REAL_VINS)


async def test_regulation_worked_example_has_check_digit_4(conn: asyncpg.Connection) -> None:
    # '1G4AH59H?5G118341': the 9th character does not enter the sum (weight 0).
    assert await conn.fetchval("SELECT vin_check_digit('1G4AH59H05G118341')") == "4"
    assert await conn.fetchval("SELECT vin_check_digit_ok('1G4AH59H45G118341')") is True
    assert await conn.fetchval("SELECT vin_check_digit_ok('1G4AH59H55G118341')") is False


async def test_check_digit_is_null_for_short_or_invalid(conn: asyncpg.Connection) -> None:
    row = await conn.fetchrow(
        "SELECT vin_check_digit_ok('JH4KA3140KC0'), vin_check_digit_ok('1G4AH59HI5G118341')"
    )
    assert row is not None
    assert tuple(row) == (None, None)
