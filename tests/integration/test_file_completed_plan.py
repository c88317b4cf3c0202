"""A full snapshot's completion (consumer/store/sql/file_completed.sql.tmpl) on a database of
realistic size: the lots that come back are looked for among the removed lots, never by
probing public.lots once per lot the file lists."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import orjson
import pytest

from consumer.store import statements as sql
from tests.databases import FreshDb

pytestmark = pytest.mark.integration

# 200,000 lots, one in 30 removed by an older full snapshot, statistics taken.
_FILLER = """
INSERT INTO public.lots (lot_external_id, source_updated_at, is_removed, removed_as_of)
SELECT 'L' || i, timestamptz '2020-01-01', i % 30 = 0,
       CASE WHEN i % 30 = 0 THEN timestamptz '2020-01-01' END
FROM generate_series(1, 200000) AS i;
ANALYZE public.lots;
"""


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


@pytest.mark.parametrize("statement", ["file_completed", "file_completed_told"])
async def test_returned_lots_are_found_among_the_removed_ones(
    fresh_db: FreshDb, statement: str
) -> None:
    """Pulled up into a join, `IN (SELECT .. FROM listed)` had the planner (expecting one
    listed lot) probe public.lots for each of a 200,000-row snapshot's lots: ~2 s at every
    full snapshot's completion to find none come back. The removed lots drive now, and the
    listed ones are a hashed subplan."""
    conn = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        await conn.execute(_FILLER)
        text = getattr(sql, statement.upper())
        plan = orjson.loads(await conn.fetchval("EXPLAIN (FORMAT JSON) " + text, uuid.uuid4()))
    finally:
        await conn.close()
    [returned] = [n for n in _nodes(plan[0]["Plan"]) if n.get("Subplan Name") == "CTE returned"]
    lots = [n for n in _nodes(returned) if n.get("Relation Name") == "lots"]
    scans = [n for n in lots if n["Node Type"] != "ModifyTable"]
    # One scan of the lots, filtered on is_removed, the listed lots looked up in a hash.
    assert len(scans) == 1, scans
    assert "is_removed" in scans[0].get("Filter", ""), scans
    assert "hashed SubPlan" in scans[0].get("Filter", ""), scans
