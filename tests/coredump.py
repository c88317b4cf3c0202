"""The core tables as one comparable value, and a consumer's ingest without Kafka: for the
tests that hold "the core equals a fresh ingest" (merge rule, rebuild, upgrades)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from consumer.intake.records import Inbound
from consumer.prepare.prepare import prepare_records
from consumer.store.sink import Sink
from producer.messages import Message
from tests.unit.consumer.feedrows import FILES_TOPIC, ROW_TOPIC, decoded

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


async def core(dsn: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [(r["t"], r["r"]) for r in await conn.fetch(CORE)]
    finally:
        await conn.close()


def inbound(messages: Sequence[Message], first_offset: int = 0) -> list[Inbound]:
    """The producer's messages as a consumer reads them (one partition, in order)."""
    return [
        Inbound(ROW_TOPIC, 0, first_offset + n, m.key, m.value, tuple(m.headers), 1_700_000_000)
        for n, m in enumerate(messages)
    ]


async def ingest(
    dsn: str, messages: Sequence[Inbound], size: int = 40, *, history: bool = True
) -> None:
    """What the service does with ``messages``, batches of ``size``: look up, prepare, write
    (``history=False``: as the consumer before the lot history, or with VINOPS_HISTORY=off)."""
    async with asyncpg.create_pool(dsn, min_size=1, max_size=1) as pool:
        sink = Sink(pool, group_id="core-test", consumer_name="test", history=history)
        for start in range(0, len(messages), size):
            part = messages[start : start + size]
            known = await sink.known_contents(decoded(part).digests())
            await sink.write(
                prepare_records(part, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, known=known)
            )


# The lot history as one comparable value, without where and when a version was recorded
# (its first row depends on which of the rows carrying it came first): each version's data as
# stored (thin but the newest) and its values in full.
HISTORY = """
SELECT lot_external_id, valid_from, encode(version, 'hex') AS version, valid_to, vin, changed,
       data, public.lot_version_values(lot_external_id, valid_from, version) AS whole
FROM public.lot_versions ORDER BY lot_external_id, valid_from, version
"""


async def history(dsn: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(HISTORY)]
    finally:
        await conn.close()
