"""One merge rule: the core tables are the same whatever the batch cut, the arrival order or the
file split (a property over generated versions of a few lots, with blank VINs and makes, ties
of source time, shared VINs, sales and no sales), against the real PostgreSQL.

The rule (docs/db-passport.md, "Data Invariants"): per lot, vehicle and sale event, the newest
version by (source time, version digest) wins whole, its blanks included.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from consumer.prepare import identify, prepare
from consumer.records import Inbound
from consumer.sink import Sink
from tests.databases import Server
from tests.unit.consumer.feedrows import FILES_TOPIC, ROW_TOPIC, member_row, row_msg

pytestmark = pytest.mark.integration

LOTS = ("301", "302", "303")
VINS = ("4JGBF7BE5AA585531", "5TDYZ3DCXHS795095", "", "5N1DL0MM5KC******")
TIMES = ("2021-01-01T00:00:00Z", "2021-01-02T00:00:00Z", "2021-01-03T00:00:00Z")
MAKES = ("FORD", "KIA", "")
SALE_DATES = ("20200702", "0", "20200709")
BIDS = ("275.0", "300.0", "0")

version = st.tuples(
    st.sampled_from(LOTS), st.sampled_from(TIMES), st.sampled_from(VINS),
    st.sampled_from(MAKES), st.sampled_from(SALE_DATES), st.sampled_from(BIDS),
)  # fmt: skip

# What the core holds, without what records when or from where a row was written (ids,
# created_at/updated_at, the file and row of the version stored: versions that map alike are
# one version, and which of their rows is named depends on which came first).
CORE = """
SELECT 'lot' AS t, (to_jsonb(l) - 'id' - 'created_at' - 'updated_at' - 'source_file_id'
                    - 'source_row_no')::text AS r FROM public.lots l
UNION ALL
SELECT 'vehicle', (to_jsonb(v) - 'created_at' - 'updated_at')::text FROM public.vehicles v
UNION ALL
SELECT 'sale', (to_jsonb(s) - 'id' - 'lot_id' - 'created_at' - 'updated_at'
                || jsonb_build_object('lot', l.lot_external_id))::text
FROM public.sale_events s JOIN public.lots l ON l.id = s.lot_id
UNION ALL
SELECT 'image', (to_jsonb(i) - 'id' - 'lot_id' - 'created_at'
                 || jsonb_build_object('lot', l.lot_external_id))::text
FROM public.images i JOIN public.lots l ON l.id = i.lot_id
ORDER BY 1, 2
"""


def messages_of(versions: Sequence[tuple[str, ...]]) -> list[Inbound]:
    """One row message per version, the versions split over two files."""
    out = []
    for n, (lot, updated, vin, make, sale_date, bid) in enumerate(versions):
        cells = member_row(lot, updated, VIN=vin, Make=make, **{
            "Sale Date M/D/CY": sale_date, "High Bid =non-vix,Sealed=Vix": bid,
        })  # fmt: skip
        out.append(row_msg(cells, file=f"merge-{n % 2}", row_no=n // 2 + 1, offset=n))
    return out


async def ingest(server: Server, messages: Sequence[Inbound], size: int) -> list[tuple[str, str]]:
    """A fresh database fed ``messages`` in batches of ``size``, as the service does."""
    async with server.fresh() as fresh:
        async with asyncpg.create_pool(fresh.etl_dsn, min_size=1, max_size=1) as pool:
            sink = Sink(pool, group_id="merge-rule", consumer_name="test")
            for start in range(0, len(messages), size):
                part = messages[start : start + size]
                known = await sink.known_contents(identify(part, ROW_TOPIC)[0])
                await sink.write(
                    prepare(part, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, known=known)
                )
        conn = await asyncpg.connect(fresh.admin_dsn)
        try:
            return [(r["t"], r["r"]) for r in await conn.fetch(CORE)]
        finally:
            await conn.close()


# Each example writes five databases: few examples, and no shrinking (minutes of databases).
@settings(
    max_examples=6, deadline=None, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(versions=st.lists(version, min_size=2, max_size=20), seed=st.integers(0, 2**16))
def test_batch_cut_arrival_order_and_file_split_give_one_core(
    versions: list[tuple[str, ...]], seed: int, pg_server: Server
) -> None:
    messages = messages_of(versions)
    shuffled = list(messages)
    random.Random(seed).shuffle(shuffled)
    runs: list[tuple[str, list[Inbound], int]] = [
        ("in order, one by one", messages, 1),
        ("reversed, by 2", messages[::-1], 2),
        ("shuffled, by 3", shuffled, 3),
        ("in order, one batch", messages, len(messages)),
        ("shuffled, one batch", shuffled, 5000),
    ]

    async def all_runs() -> list[list[tuple[str, str]]]:
        return [await ingest(pg_server, msgs, size) for _, msgs, size in runs]

    cores: list[Any] = asyncio.run(all_runs())
    for (name, _, _), core in zip(runs[1:], cores[1:], strict=True):
        assert core == cores[0], name
