"""GroupLag against real Kafka and PostgreSQL: lag of every partition, owned or not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from consumer.observe.metrics import Metrics
from consumer.service.group_lag import GroupLag
from consumer.store.sink import Sink
from tests.conftest import UniqueName
from tests.databases import FreshDb
from tests.kafka import create_topics

pytestmark = pytest.mark.integration

GROUP = "vinops-test-lag"


@pytest_asyncio.fixture
async def pool(fresh_db: FreshDb) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(fresh_db.etl_dsn, min_size=1, max_size=2) as p:
        yield p


async def test_every_partition_counts_whoever_owns_it(
    kafka_bootstrap: str, unique_name: UniqueName, pool: asyncpg.Pool
) -> None:
    topic = unique_name("lag")
    await create_topics(kafka_bootstrap, topic, partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for partition, n in ((0, 5), (1, 3)):  # partition 2 stays empty
            for i in range(n):
                await producer.send_and_wait(topic, f"{i}".encode(), partition=partition)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])  # this process owns partition 0 only
        await consumer.getmany(timeout_ms=500)  # metadata of the topic
        await consumer._client.force_metadata_update()
        metrics = Metrics(CollectorRegistry())
        probe = GroupLag(consumer, Sink(pool, group_id=GROUP, consumer_name="t"), [topic], metrics)
        assert await probe.refresh() is False
        get = metrics.registry.get_sample_value
        lags = [
            get("vinops_group_lag_messages", {"topic": topic, "partition": str(p)})
            for p in range(3)
        ]
        owned = [
            get("vinops_partition_assigned", {"topic": topic, "partition": str(p)})
            for p in range(3)
        ]
        assert lags == [5, 3, 0]
        assert owned == [1, 0, 0]
        async with pool.acquire() as conn:  # the group commits partition 1 only (elsewhere)
            await conn.execute(
                "INSERT INTO ingest.consumer_offsets (group_id, topic, partition, next_offset) "
                "VALUES ($1, $2, 1, 3), ($1, $2, 0, 5)",
                GROUP, topic,
            )  # fmt: skip
        assert await probe.refresh() is True
        lags = [
            get("vinops_group_lag_messages", {"topic": topic, "partition": str(p)})
            for p in range(3)
        ]
        assert lags == [0, 0, 0]
    finally:
        await consumer.stop()
