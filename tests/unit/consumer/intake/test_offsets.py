"""One batch's offsets from fetch to commit: built once, merged, written and committed."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka import TopicPartition

from consumer.intake.offsets import BatchOffsets


def fetched(topic: str, partition: int, *offsets: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(topic=topic, partition=partition, offset=o) for o in offsets]


def test_each_partition_spans_its_first_to_its_next_offset() -> None:
    offsets = BatchOffsets.of([*fetched("t", 1, 5, 6, 9), *fetched("f", 0, 3)])
    assert offsets == {("t", 1): 10, ("f", 0): 4}
    assert (offsets.start(("t", 1)), offsets.start(("f", 0))) == (5, 3)


def test_halves_of_a_bisected_batch_merge_into_the_whole() -> None:
    messages = [*fetched("t", 0, 1, 2, 3, 4), *fetched("t", 1, 7)]
    first, second = BatchOffsets.of(messages[:2]), BatchOffsets.of(messages[2:])
    whole = first.merged(second)
    assert whole == BatchOffsets.of(messages) == {("t", 0): 5, ("t", 1): 8}
    assert whole.start(("t", 0)) == 1
    assert first == {("t", 0): 3}  # merging makes a new value


def test_database_columns_and_kafka_commit() -> None:
    offsets = BatchOffsets.of([*fetched("t", 2, 41), *fetched("f", 0, 5), *fetched("t", 0, 7)])
    assert offsets.db_columns() == (["f", "t", "t"], [0, 0, 2], [6, 8, 42])
    assigned = {TopicPartition("t", 0), TopicPartition("t", 2)}
    assert offsets.kafka_commit(assigned) == {TopicPartition("t", 0): 8, TopicPartition("t", 2): 42}
    assert offsets.describe()["offsets"] == {"f:0": 6, "t:0": 8, "t:2": 42}
