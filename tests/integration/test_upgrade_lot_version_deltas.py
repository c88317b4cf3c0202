"""Upgrade across 0027 (an older lot version keeps only what its successor changed): a history
stored the 0026 way (every version with every value) is thinned in place into exactly the rows
this consumer writes for the same versions, and every version still reads back whole. A history
that would not read back (a successor's ``changed`` missing a field that did change) fails the
migration, which then changes nothing.

The 0026 history is written in SQL from what a fresh ingest of the same messages gives (each
version's values in full, as the 0026 consumer stored them): the consumer of today writes the
0027 form and cannot run against a 0026 schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from consumer.store.history_sql import HISTORY_FIELDS
from consumer.store.migrate import (
    MigrationFailedError,
    default_migrations_dir,
    load_registry,
    migrate,
)
from devstack.dsn import dsn_for
from tests.coredump import history, ingest
from tests.databases import Server, new_database
from tests.integration.test_upgrade_lot_history import messages

pytestmark = pytest.mark.integration

REGISTRY = load_registry(default_migrations_dir())
DELTAS = next(m.id for m in REGISTRY if m.file.endswith("_lot_version_deltas.sql"))
BEFORE = max(m.id for m in REGISTRY if m.id < DELTAS)

_WHOLE = """
SELECT lot_external_id, valid_from, version, valid_to, vin, file_id, row_no, content_digest,
       changed, public.lot_version_values(lot_external_id, valid_from, version) AS data
FROM public.lot_versions ORDER BY lot_external_id, valid_from, version
"""
_INSERT = """
INSERT INTO public.lot_versions (lot_external_id, valid_from, version, valid_to, vin, file_id,
                                 row_no, content_digest, changed, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""
_SHOWN = "SELECT data FROM public.v_lot_versions ORDER BY lot_external_id, valid_from, version"


async def _fetch(dsn: str, query: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(query)]
    finally:
        await conn.close()


@asynccontextmanager
async def stored_0026(
    admin_dsn: str, superuser_dsn: str, whole: list[tuple[object, ...]]
) -> AsyncIterator[str]:
    """A database at 0026 holding ``whole`` as the 0026 consumer stored it."""
    async with new_database(admin_dsn, superuser_dsn, "vinops_udelta_") as name:
        dsn = dsn_for(admin_dsn, name)
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn, REGISTRY, target=BEFORE)
            await conn.executemany(_INSERT, whole)
        finally:
            await conn.close()
        yield dsn


async def _expected(server: Server) -> tuple[list[tuple[object, ...]], ...]:
    async with server.fresh() as fresh:
        await ingest(fresh.etl_dsn, messages(), 7)
        return (
            await history(fresh.admin_dsn),
            await _fetch(fresh.admin_dsn, _WHOLE),
            await _fetch(fresh.admin_dsn, _SHOWN),
        )


# Some of the fixture's versions (test_upgrade_lot_history.VERSIONS) as written by hand: make,
# sale date and high bid, read back whole, older versions through the thin form. A reference
# that shares no code with the fold.
_BY_HAND = {
    ("301", "2021-01-02"): ("FORD", "2020-07-02", "275.00"),
    ("301", "2021-01-03"): (None, "2020-07-09", "300.00"),
    ("302", "2021-01-03"): ("KIA", "2020-07-09", "300.00"),
}
_HAND_FIELDS = [HISTORY_FIELDS.index(f) for f in ("make", "sale_date", "high_bid")]


def _by_hand(whole: list[tuple[object, ...]]) -> dict[tuple[str, str], tuple[object, ...]]:
    return {
        (str(row[0]), row[1].date().isoformat()): tuple(row[9][i] for i in _HAND_FIELDS)  # type: ignore[attr-defined, index]
        for row in whole
        if (str(row[0]), row[1].date().isoformat()) in _BY_HAND  # type: ignore[attr-defined]
    }


async def test_the_upgrade_thins_a_0026_history_into_what_the_consumer_writes(
    pg_server: Server, pg_admin_dsn: str, pg_superuser_dsn: str
) -> None:
    expected, whole, shown = await _expected(pg_server)
    assert len(whole) > len({row[0] for row in whole})  # lots with several versions
    assert any(row[6] != row[7] for row in expected)  # some stored thin: there is work to do
    async with stored_0026(pg_admin_dsn, pg_superuser_dsn, whole) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            applied = await migrate(conn, REGISTRY)
        finally:
            await conn.close()
        assert [m.id for m in applied.applied] == [m.id for m in REGISTRY if m.id > BEFORE]
        assert await history(dsn) == expected
        assert await _fetch(dsn, _WHOLE) == whole
        assert await _fetch(dsn, _SHOWN) == shown
    assert _by_hand(whole) == _BY_HAND


async def test_a_history_that_would_not_read_back_fails_the_upgrade_and_changes_nothing(
    pg_server: Server, pg_admin_dsn: str, pg_superuser_dsn: str
) -> None:
    _, whole, _ = await _expected(pg_server)
    # The second version of the first lot with several: its `changed` loses a field that did
    # change, so thinning its predecessor would drop that field's value.
    at = next(i for i, row in enumerate(whole) if row[8])
    broken = list(whole)
    changed = list(whole[at][8])  # type: ignore[call-overload]
    broken[at] = (*whole[at][:8], changed[1:], whole[at][9])
    async with stored_0026(pg_admin_dsn, pg_superuser_dsn, broken) as dsn:
        before = await _fetch(dsn, "SELECT * FROM public.lot_versions ORDER BY 1, 2, 3")
        conn = await asyncpg.connect(dsn)
        try:
            with pytest.raises(MigrationFailedError, match="would not read back their values"):
                await migrate(conn, REGISTRY)
            applied = await conn.fetchval("SELECT max(id) FROM ingest.schema_migrations")
        finally:
            await conn.close()
        assert applied == BEFORE
        assert await _fetch(dsn, "SELECT * FROM public.lot_versions ORDER BY 1, 2, 3") == before
