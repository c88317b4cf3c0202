"""Group-wide progress, read from the database: every partition of the subscribed topics.

A process knows only its own assignment, but ingest.consumer_offsets holds the group's
committed position of every partition. So lag = topic end offset - stored offset for every
partition, whoever owns it (or nobody: a dead member keeps its partitions until its session
expires). `--exit-when-idle` waits until every one of them is at its end: a member that holds
half the partitions cannot call the group done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import TopicPartition

from consumer.observe.metrics import Metrics
from consumer.store.sink import Sink

Key = tuple[str, int]

_PROBE_TIMEOUT_S = 5.0


def group_lag(
    ends: Mapping[Key, int], stored: Mapping[Key, int], beginnings: Mapping[Key, int]
) -> dict[Key, int]:
    """Lag of every partition in ``ends``; one the group never committed counts from its
    beginning (an empty or fully compacted partition has nothing to read)."""
    return {
        key: max(end - stored.get(key, beginnings.get(key, end)), 0) for key, end in ends.items()
    }


class GroupLag:
    """Refreshes vinops_group_lag_messages and vinops_partition_assigned for every partition."""

    def __init__(self, consumer: Any, sink: Sink, topics: Sequence[str], metrics: Metrics) -> None:
        self._consumer = consumer
        self._sink = sink
        self._topics = tuple(topics)
        self._metrics = metrics

    async def refresh(self) -> bool:
        """True when every partition of every topic is committed to its end. Raises
        KafkaError / TimeoutError / IngestError when the broker or the database cannot say."""
        partitions = [
            TopicPartition(topic, p)
            for topic in self._topics
            for p in sorted(self._consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return False  # metadata not known yet
        ends_tp = await asyncio.wait_for(self._consumer.end_offsets(partitions), _PROBE_TIMEOUT_S)
        stored: dict[Key, int] = {}
        for topic in self._topics:
            numbers = [tp.partition for tp in partitions if tp.topic == topic]
            committed = await self._sink.committed_offsets(topic, numbers)
            stored.update({(topic, p): o for p, o in committed.items()})
        unseen = [tp for tp in partitions if (tp.topic, tp.partition) not in stored]
        beginnings_tp = (
            await asyncio.wait_for(self._consumer.beginning_offsets(unseen), _PROBE_TIMEOUT_S)
            if unseen
            else {}
        )
        lags = group_lag(
            {(tp.topic, tp.partition): o for tp, o in ends_tp.items()},
            stored,
            {(tp.topic, tp.partition): o for tp, o in beginnings_tp.items()},
        )
        assigned = self._consumer.assignment()
        for (topic, partition), lag in lags.items():
            self._metrics.group_lag.labels(topic, str(partition)).set(lag)
            owned = TopicPartition(topic, partition) in assigned
            self._metrics.partition_assigned.labels(topic, str(partition)).set(1 if owned else 0)
        return all(lag == 0 for lag in lags.values())
