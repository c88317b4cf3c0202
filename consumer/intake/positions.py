"""Which fetched records this process may write: each partition's offsets in order, from
the position this process gave it, with nothing skipped.

aiokafka starts fetching a new assignment from Kafka's committed offset before the rebalance
callback has positioned it at the DB offset, and records drained by a getmany that raced a
seek can belong to the old position. So a partition's records are accepted only from the
offset this process expects next: below it they are replays (dropped, harmless); above it
something in between was handed out and not accepted, so the partition is sought back to
the expected offset. A gap is accepted only when a fetch that started at the expected
offset shows it again: compaction (the files topic) leaves real gaps, lost records do not.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class Record(Protocol):
    @property
    def offset(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Gap:
    """Records of ``partition`` started at ``found`` where ``expected`` was next."""

    partition: Any
    expected: int
    found: int


@dataclass(slots=True)
class Accepted:
    records: list[Any] = field(default_factory=list)
    dropped: int = 0  # replays, records of unpositioned partitions, records past a gap
    gaps: list[Gap] = field(default_factory=list)  # sought back to ``expected``


class Positions:
    def __init__(self) -> None:
        self._expected: dict[Hashable, int] = {}
        self._suspect: dict[Hashable, Gap] = {}

    def reset(self, positions: Mapping[Any, int]) -> None:
        """Forget everything; expect exactly these partitions at these offsets."""
        self._expected = dict(positions)
        self._suspect = {}

    def expected(self, partition: Hashable) -> int | None:
        return self._expected.get(partition)

    def accept(
        self,
        fetched: Mapping[Any, Sequence[Record]],
        assigned: Iterable[Any],
        seek: Callable[[Any, int], None],
    ) -> Accepted:
        """Records to write, in fetch order; ``seek`` is called for every gap found."""
        owned = set(assigned)
        out = Accepted()
        for tp, records in fetched.items():
            expected = self._expected.get(tp)
            if tp not in owned or expected is None:
                out.dropped += len(records)  # the assignment callback positions it
                continue
            fresh = [r for r in records if r.offset >= expected]
            out.dropped += len(records) - len(fresh)
            if fresh and fresh[0].offset != expected:
                gap = Gap(tp, expected, fresh[0].offset)
                if self._suspect.get(tp) != gap:
                    # First sight: read again from the expected offset. Seen again from
                    # there, the gap is real (compaction) and is accepted below.
                    self._suspect[tp] = gap
                    out.dropped += len(fresh)
                    out.gaps.append(gap)
                    seek(tp, expected)
                    continue
            self._suspect.pop(tp, None)
            if fresh:
                out.records.extend(fresh)
                self._expected[tp] = fresh[-1].offset + 1
        return out
