"""A batch: the typed messages the batcher collected and the offsets they span. The one value
that travels from the batcher through prepare and the write to the commit; a bisected batch
is written as its halves, each with its own offsets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from consumer.intake.messages import Message, RowMessage
from consumer.intake.offsets import BatchOffsets


@dataclass(frozen=True, slots=True)
class Batch:
    messages: tuple[Message, ...]
    offsets: BatchOffsets

    @classmethod
    def of(cls, messages: Sequence[Message]) -> Batch:
        return cls(tuple(messages), BatchOffsets.of([m.record for m in messages]))

    def __len__(self) -> int:
        return len(self.messages)

    def digests(self) -> list[bytes]:
        """The content digest of each row message (the contents to look up)."""
        return [m.digest for m in self.messages if m.__class__ is RowMessage]

    def halves(self) -> tuple[Batch, Batch]:
        """Split in fetch order (offsets stay contiguous per partition in each half)."""
        mid = len(self.messages) // 2
        return Batch.of(self.messages[:mid]), Batch.of(self.messages[mid:])

    @property
    def newest_timestamp_ms(self) -> int | None:
        return max((m.record.timestamp_ms for m in self.messages), default=None)
