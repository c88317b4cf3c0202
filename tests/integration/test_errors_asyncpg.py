"""asyncpg's own errors, raised for real, classified as the consumer needs them."""

from __future__ import annotations

import asyncpg
import pytest

from consumer.config import errors

pytestmark = pytest.mark.integration


async def test_a_value_asyncpg_cannot_encode_is_a_data_error(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError)) as raised:
            await conn.fetchval("SELECT $1::int", "not a number")
    finally:
        await conn.close()
    assert isinstance(errors.translate_pg(raised.value), errors.DataError)


async def test_a_closed_connection_is_transient(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    await conn.close()
    with pytest.raises(asyncpg.InterfaceError) as raised:
        await conn.fetchval("SELECT 1")
    assert isinstance(errors.translate_pg(raised.value), errors.TransientError)
