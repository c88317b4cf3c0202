"""The offsets of one batch, from fetch to commit: per partition, the first offset the batch
holds and the next one to read after it.

Built in one pass over the fetched messages; merged when a bisected batch is written in
halves; written to ingest.consumer_offsets in the batch's transaction, then mirrored to
Kafka's committed offsets and logged, all from this one value. As a mapping it reads
(topic, partition) -> next offset, the number every consumer of it wants.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Protocol

from aiokafka import TopicPartition

Partition = tuple[str, int]  # (topic, partition)


class _Fetched(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


class BatchOffsets(Mapping[Partition, int]):
    """Immutable: every method returns a new value."""

    __slots__ = ("_next", "_start")

    def __init__(self, start: Mapping[Partition, int], next_: Mapping[Partition, int]) -> None:
        self._start = dict(start)
        self._next = dict(next_)

    @classmethod
    def of(cls, messages: Iterable[_Fetched]) -> BatchOffsets:
        start: dict[Partition, int] = {}
        next_: dict[Partition, int] = {}
        for m in messages:
            key, offset = (m.topic, m.partition), m.offset
            if offset < start.get(key, offset + 1):
                start[key] = offset
            if offset >= next_.get(key, 0):
                next_[key] = offset + 1
        return cls(start, next_)

    def __getitem__(self, key: Partition) -> int:
        return self._next[key]

    def __iter__(self) -> Iterator[Partition]:
        return iter(self._next)

    def __len__(self) -> int:
        return len(self._next)

    def __repr__(self) -> str:
        return f"BatchOffsets({self.describe()})"

    def start(self, key: Partition) -> int:
        """The first offset of ``key`` in this batch."""
        return self._start[key]

    def merged(self, other: BatchOffsets) -> BatchOffsets:
        """The offsets of both batches together (the halves of a bisected batch)."""
        start = {**other._start, **self._start}
        for key, offset in other._start.items():
            start[key] = min(start[key], offset)
        next_ = {**other._next, **self._next}
        for key, offset in other._next.items():
            next_[key] = max(next_[key], offset)
        return BatchOffsets(start, next_)

    def db_columns(self) -> tuple[list[str], list[int], list[int]]:
        """Topics, partitions and next offsets, sorted by partition: the offsets statement's
        array parameters (sorted, so two writers lock the rows in one order)."""
        keys = sorted(self._next)
        return [t for t, _ in keys], [p for _, p in keys], [self._next[k] for k in keys]

    def kafka_commit(self, assigned: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        """The commit of the partitions still ``assigned``, in aiokafka's form."""
        todo = {TopicPartition(t, p): o for (t, p), o in self._next.items()}
        return {tp: o for tp, o in todo.items() if tp in assigned}

    def describe(self) -> dict[str, dict[str, int]]:
        """For a log line: 'topic:partition' -> next offset, and -> first offset."""
        keys = sorted(self._next)
        return {
            "offsets": {f"{t}:{p}": self._next[t, p] for t, p in keys},
            "from_offsets": {f"{t}:{p}": self._start[t, p] for t, p in keys},
        }
