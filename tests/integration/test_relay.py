"""The change relay against real Kafka and PostgreSQL: it sends the outbox in order, stores its
position and prunes in one transaction, measures its lag, lets one relay work at a time, and
never passes an event of a transaction still open (a lower sequence number committing late)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from consumer.config.settings import Settings
from consumer.observe.metrics import Metrics
from consumer.service.relay import Relay
from tests.coredump import ingest
from tests.databases import FreshDb
from tests.integration.test_merge_rule import messages_of
from tests.kafka import read_topic

pytestmark = pytest.mark.integration

LOTS = [("301", "2021-01-01T00:00:00Z", "", "FORD", "0", "0"),
        ("302", "2021-01-01T00:00:00Z", "", "KIA", "0", "0")]  # fmt: skip
_EVENT = """
INSERT INTO ingest.lot_changes (event_id, lot_external_id, kind, payload)
VALUES ($1::uuid, $2, 'removed', jsonb_build_object('id', $1::uuid, 'lot', $2::text))
"""


@pytest_asyncio.fixture
async def relays(
    fresh_db: FreshDb, kafka_bootstrap: str, unique_name: object
) -> AsyncIterator[tuple[Relay, Relay, Metrics, str]]:
    topic = f"{unique_name('changes')}"  # type: ignore[operator]
    settings = Settings.from_env({
        "VINOPS_KAFKA_BOOTSTRAP": kafka_bootstrap, "VINOPS_PG_DSN": fresh_db.etl_dsn,
        "VINOPS_CHANGES_TOPIC": topic, "VINOPS_RELAY_BATCH": "100",
    })  # fmt: skip
    metrics = Metrics(CollectorRegistry())
    async with asyncpg.create_pool(fresh_db.etl_dsn, min_size=1, max_size=4) as pool:
        one, two = Relay(pool, settings, metrics), Relay(pool, settings, metrics)
        await one.start()
        await two.start()
        try:
            yield one, two, metrics, topic
        finally:
            await one.stop()
            await two.stop()


async def _fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def test_relays_in_order_stores_its_position_prunes_and_measures(
    relays: tuple[Relay, Relay, Metrics, str], fresh_db: FreshDb, kafka_bootstrap: str
) -> None:
    one, _, metrics, topic = relays
    await ingest(fresh_db.etl_dsn, messages_of(LOTS))
    assert await one.measure(force=True) == 2
    get = metrics.registry.get_sample_value
    assert (get("vinops_relay_lag_rows"), get("vinops_outbox_rows")) == (2, 2)
    assert (get("vinops_relay_lag_seconds") or 0) > 0
    assert await one.round() == 2
    assert get("vinops_lot_changes_relayed_total") == 2
    assert await one.measure(force=True) == 0
    assert await _fetch(fresh_db.admin_dsn, "SELECT 1 FROM ingest.lot_changes") == []
    (position,) = await _fetch(
        fresh_db.admin_dsn, "SELECT topic, relayed FROM ingest.relay_positions"
    )
    assert tuple(position) == (topic, 2)
    records = await read_topic(kafka_bootstrap, topic)
    assert sorted(r.key.decode() for r in records) == ["301", "302"]
    assert {orjson.loads(r.value)["kind"] for r in records} == {"created"}


async def test_one_relay_at_a_time_and_never_past_an_open_transaction(
    relays: tuple[Relay, Relay, Metrics, str], fresh_db: FreshDb, kafka_bootstrap: str
) -> None:
    one, two, _, topic = relays
    early, late = uuid.uuid4(), uuid.uuid4()
    opened = await asyncpg.connect(fresh_db.etl_dsn)
    try:
        # A transaction takes its id first, then waits open; a later one commits an event.
        tx = opened.transaction()
        await tx.start()
        await opened.execute(_EVENT, early, "401")
        committed = await asyncpg.connect(fresh_db.etl_dsn)
        try:
            await committed.execute(_EVENT, late, "401")  # one lot: one partition, in order
        finally:
            await committed.close()
        assert await one.round() == 0  # the later event waits behind the open transaction
        await tx.commit()
    finally:
        await opened.close()

    # Relay two cannot take the position while relay one holds it in its round's transaction.
    holder = await asyncpg.connect(fresh_db.etl_dsn)
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT 1 FROM ingest.relay_positions WHERE topic = $1 FOR UPDATE", topic
            )
            assert await two.round() == 0
    finally:
        await holder.close()
    assert await two.round() == 2
    records = await read_topic(kafka_bootstrap, topic)
    assert [orjson.loads(r.value)["id"] for r in records] == [str(early), str(late)]
