"""The lot history (public.lot_versions) is the same whatever the batch cut, the arrival order
or the file split: a late version is put in its place and its neighbours corrected. A property
over the merge rule's generated versions (tests/integration/test_merge_rule.py), against the
real PostgreSQL; the in-order history is also checked against what it must be (one version per
distinct version digest of a lot, each valid until the next, each naming the fields that
differ from the one before).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import asyncpg
import orjson
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from consumer.admin.history import whole_values
from consumer.intake.records import Inbound
from consumer.store import statements as sql
from consumer.store.batch_table import CREATE_BATCH_TABLE
from consumer.store.history_sql import HISTORY_FIELDS
from tests.coredump import history, ingest
from tests.databases import FreshDb, Server
from tests.integration.test_merge_rule import messages_of, version

pytestmark = pytest.mark.integration


async def fresh_history(server: Server, messages: list[Inbound], size: int) -> list[Any]:
    async with server.fresh() as fresh:
        await ingest(fresh.etl_dsn, messages, size)
        return await history(fresh.admin_dsn)


def assert_well_formed(rows: list[tuple[Any, ...]]) -> None:
    """Per lot: versions in (valid_from, version) order, each valid until the next one's
    valid_from (the last open), the first without changed fields, each other naming exactly
    the fields whose values differ from its predecessor's; the newest stores every value, an
    older one only its values of the fields its successor changed (NULL elsewhere), and its
    values in full read back from that (public.lot_version_values() and the CLI's rule)."""
    by_lot: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_lot.setdefault(row[0], []).append(row)
    for lot, versions in by_lot.items():
        assert [v[7] for v in versions] == whole_values([(v[6], v[5]) for v in versions]), lot
        for i, (_, valid_from, _, valid_to, _, changed, data, whole) in enumerate(versions):
            if i + 1 < len(versions):
                assert valid_to == versions[i + 1][1], lot
                after = versions[i + 1][5]
                thin = [
                    w if f in after else None for f, w in zip(HISTORY_FIELDS, whole, strict=True)
                ]
                assert data == thin, lot
            else:
                assert valid_to is None, lot
                assert data == whole, lot
            if i == 0:
                assert changed is None, lot
                continue
            before = versions[i - 1][7]
            differ = [f for f, o, n in zip(HISTORY_FIELDS, before, whole, strict=True) if o != n]
            assert list(changed) == differ, (lot, valid_from)


# Found by CI: a stored successor of one new version, followed in the statement's set by the
# stored neighbour of another new version (with a version stored between them), was thinned
# against that neighbour instead of its own successor.
_THINNED_AGAINST_A_STRANGER = [
    ("301", "2021-01-02T00:00:00Z", "5TDYZ3DCXHS795095", "FORD", "20200702", "275.0"),
    ("301", "2021-01-03T00:00:00Z", "5N1DL0MM5KC******", "", "0", "0"),
    ("302", "2021-01-02T00:00:00Z", "5N1DL0MM5KC******", "FORD", "20200702", "0"),
    ("302", "2021-01-02T00:00:00Z", "", "KIA", "20200709", "0"),
    ("303", "2021-01-01T00:00:00Z", "", "FORD", "20200709", "275.0"),
    ("303", "2021-01-03T00:00:00Z", "4JGBF7BE5AA585531", "KIA", "0", "0"),
    ("301", "2021-01-01T00:00:00Z", "5N1DL0MM5KC******", "KIA", "0", "0"),
    ("301", "2021-01-02T00:00:00Z", "4JGBF7BE5AA585531", "FORD", "0", "275.0"),
    ("302", "2021-01-01T00:00:00Z", "5N1DL0MM5KC******", "", "20200702", "275.0"),
    ("301", "2021-01-01T00:00:00Z", "5TDYZ3DCXHS795095", "FORD", "20200709", "0"),
    ("301", "2021-01-02T00:00:00Z", "5N1DL0MM5KC******", "", "20200709", "0"),
    ("302", "2021-01-03T00:00:00Z", "4JGBF7BE5AA585531", "", "0", "0"),
    ("302", "2021-01-03T00:00:00Z", "5N1DL0MM5KC******", "", "0", "275.0"),
    ("302", "2021-01-03T00:00:00Z", "5N1DL0MM5KC******", "", "20200709", "300.0"),
    ("302", "2021-01-01T00:00:00Z", "5TDYZ3DCXHS795095", "", "0", "0"),
    ("302", "2021-01-02T00:00:00Z", "5N1DL0MM5KC******", "", "20200702", "300.0"),
    ("302", "2021-01-03T00:00:00Z", "5TDYZ3DCXHS795095", "KIA", "20200702", "275.0"),
]


@settings(
    max_examples=6, deadline=None, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(versions=st.lists(version, min_size=2, max_size=20), seed=st.integers(0, 2**16))
@example(versions=_THINNED_AGAINST_A_STRANGER, seed=1283)
def test_any_batch_cut_or_arrival_order_gives_the_in_order_history(
    versions: list[tuple[str, ...]], seed: int, pg_server: Server
) -> None:
    messages = messages_of(versions)
    shuffled = list(messages)
    random.Random(seed).shuffle(shuffled)
    runs: list[tuple[str, list[Inbound], int]] = [
        ("in order, one by one", messages, 1),
        ("reversed, one by one", messages[::-1], 1),
        ("reversed, by 2", messages[::-1], 2),
        ("shuffled, by 3", shuffled, 3),
        ("shuffled, one batch", shuffled, 5000),
    ]

    async def all_runs() -> list[list[tuple[Any, ...]]]:
        return [await fresh_history(pg_server, msgs, size) for _, msgs, size in runs]

    histories = asyncio.run(all_runs())
    assert histories[0], "every version maps: the history is not empty"
    assert_well_formed(histories[0])
    for (name, _, _), other in zip(runs[1:], histories[1:], strict=True):
        assert other == histories[0], name


async def test_the_sql_field_list_is_the_code_s(fresh_db: FreshDb) -> None:
    """lot_versions.data is named by public.lot_history_fields(): the same list as the code's
    (fields are only ever appended), and public.v_lot_versions shows a version by name."""
    await ingest(fresh_db.etl_dsn, messages_of([("301", "2021-01-01T00:00:00Z",
                 "4JGBF7BE5AA585531", "FORD", "20200702", "275.0")]))  # fmt: skip
    conn = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        assert tuple(await conn.fetchval("SELECT public.lot_history_fields()")) == HISTORY_FIELDS
        data = orjson.loads(await conn.fetchval("SELECT data::text FROM public.v_lot_versions"))
        # A version that is not stored has no values (not its successor's).
        absent = "SELECT public.lot_version_values('301', timestamptz '2020-01-01', '\\x00')"
        assert await conn.fetchval(absent) is None
    finally:
        await conn.close()
    assert data["vin"] == "4JGBF7BE5AA585531"
    assert (data["make"], data["high_bid"], data["sale_date"]) == ("FORD", "275.00", "2020-07-02")
    assert None not in data.values()  # NULLs left out
    assert len(data) < len(HISTORY_FIELDS)


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


_FILLER = """
INSERT INTO public.lots (lot_external_id, source_updated_at)
SELECT 'L' || i, timestamptz '2020-01-01' FROM generate_series(1, 30000) AS i;
INSERT INTO public.lot_versions (lot_external_id, valid_from, version, data)
SELECT 'L' || (i % 30000), timestamptz '2020-01-01' + make_interval(hours => i),
       decode(lpad(to_hex(i), 32, '0'), 'hex'), ARRAY['x']
FROM generate_series(1, 60000) AS i;
ANALYZE public.lots;
ANALYZE public.lot_versions;
"""


def _versions_scans(plan: dict[str, Any]) -> list[str]:
    """The scans of lot_versions under the plan's UPDATE of lot_versions."""
    [update] = [
        n
        for n in _nodes(plan)
        if n["Node Type"] == "ModifyTable"
        and n.get("Operation") == "Update"
        and n.get("Relation Name") == "lot_versions"
    ]
    return [n["Node Type"] for n in _nodes(update) if n.get("Relation Name") == "lot_versions"]


@pytest.mark.parametrize("statement", ["file_completed_told", "lot_versions"])
async def test_versions_are_updated_by_ctid_never_by_scanning_the_history(
    fresh_db: FreshDb, statement: str
) -> None:
    """A batch's new versions correct their stored neighbours, and a full snapshot's completion
    ends the last version of each lot it removes: either finds those rows by their ctids (a
    TID scan). Joined on the lot instead, thousands of removed lots made the planner hash-join
    them against a sequential scan of all of lot_versions at every full snapshot, a cost that
    grows with the history (the bench's auto_explain showed it at 50,000 rows)."""
    conn = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        # Statistics like a real database's: many lots, many versions.
        await conn.execute(_FILLER)
        async with conn.transaction():
            args: tuple[Any, ...] = ()
            if statement == "lot_versions":
                await conn.execute(CREATE_BATCH_TABLE)
                text = sql.LOT_VERSIONS
            else:
                text, args = sql.FILE_COMPLETED_TOLD, (uuid.uuid4(),)
            plan = orjson.loads(await conn.fetchval("EXPLAIN (FORMAT JSON) " + text, *args))
    finally:
        await conn.close()
    scans = _versions_scans(plan[0]["Plan"])
    assert "Seq Scan" not in scans, scans
    assert "Tid Scan" in scans, scans
