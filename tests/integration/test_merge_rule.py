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

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from consumer.intake.records import Inbound
from tests.coredump import core, ingest
from tests.databases import Server
from tests.unit.consumer.feedrows import member_row, row_msg

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


def messages_of(versions: Sequence[tuple[str, ...]]) -> list[Inbound]:
    """One row message per version, the versions split over two files."""
    out = []
    for n, (lot, updated, vin, make, sale_date, bid) in enumerate(versions):
        cells = member_row(lot, updated, VIN=vin, Make=make, **{
            "Sale Date M/D/CY": sale_date, "High Bid =non-vix,Sealed=Vix": bid,
        })  # fmt: skip
        out.append(row_msg(cells, file=f"merge-{n % 2}", row_no=n // 2 + 1, offset=n))
    return out


async def fresh_core(server: Server, messages: Sequence[Inbound], size: int) -> list[Any]:
    """A fresh database fed ``messages`` in batches of ``size``, as the service does."""
    async with server.fresh() as fresh:
        await ingest(fresh.etl_dsn, messages, size)
        return await core(fresh.admin_dsn)


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
        return [await fresh_core(pg_server, msgs, size) for _, msgs, size in runs]

    cores: list[Any] = asyncio.run(all_runs())
    for (name, _, _), other in zip(runs[1:], cores[1:], strict=True):
        assert other == cores[0], name
