from __future__ import annotations

from dataclasses import dataclass

from consumer.intake.positions import Gap, Positions

P0, P1 = ("rows", 0), ("rows", 1)


@dataclass(frozen=True)
class Rec:
    offset: int


def recs(*offsets: int) -> list[Rec]:
    return [Rec(o) for o in offsets]


class Seeks:
    def __init__(self) -> None:
        self.calls: list[tuple[object, int]] = []

    def __call__(self, tp: object, offset: int) -> None:
        self.calls.append((tp, offset))


def offsets(records: list[Rec]) -> list[int]:
    return [r.offset for r in records]


def test_contiguous_records_are_accepted_and_advance_the_expected_offset() -> None:
    pos, seek = Positions(), Seeks()
    pos.reset({P0: 10})
    got = pos.accept({P0: recs(10, 11, 12)}, [P0], seek)
    assert offsets(got.records) == [10, 11, 12]
    assert (got.dropped, got.gaps, seek.calls) == (0, [], [])
    assert pos.expected(P0) == 13


def test_replays_below_the_expected_offset_are_dropped_the_rest_kept() -> None:
    pos, seek = Positions(), Seeks()
    pos.reset({P0: 12})
    got = pos.accept({P0: recs(10, 11, 12, 13)}, [P0], seek)
    assert offsets(got.records) == [12, 13]
    assert got.dropped == 2
    assert seek.calls == []


def test_unpositioned_or_revoked_partitions_are_dropped_without_seeking() -> None:
    pos, seek = Positions(), Seeks()
    pos.reset({P0: 0})
    got = pos.accept({P0: recs(0, 1), P1: recs(5, 6)}, [P1], seek)
    assert got.records == []
    assert got.dropped == 4
    assert seek.calls == []


def test_records_past_the_expected_offset_are_refused_and_the_partition_sought_back() -> None:
    # The lost batch of the SIGKILL test: 3258..8257 handed out and never accepted, then
    # 8258.. offered while 3258 was expected. Accepting would lose 5,000 rows.
    pos, seek = Positions(), Seeks()
    pos.reset({P1: 3258})
    got = pos.accept({P1: recs(8258, 8259)}, [P1], seek)
    assert got.records == []
    assert got.gaps == [Gap(P1, 3258, 8258)]
    assert seek.calls == [(P1, 3258)]
    assert pos.expected(P1) == 3258
    # The re-read from 3258 is accepted as usual.
    again = pos.accept({P1: recs(3258, 3259)}, [P1], seek)
    assert offsets(again.records) == [3258, 3259]
    assert seek.calls == [(P1, 3258)]


def test_a_gap_seen_again_from_the_expected_offset_is_real_and_accepted() -> None:
    # Compaction in the files topic: offsets 3..6 are gone for good.
    pos, seek = Positions(), Seeks()
    pos.reset({P0: 3})
    first = pos.accept({P0: recs(7, 8)}, [P0], seek)
    assert first.records == []
    assert seek.calls == [(P0, 3)]
    second = pos.accept({P0: recs(7, 8)}, [P0], seek)
    assert offsets(second.records) == [7, 8]
    assert second.gaps == []
    assert seek.calls == [(P0, 3)]
    assert pos.expected(P0) == 9


def test_a_different_gap_after_a_re_read_is_questioned_again() -> None:
    pos, seek = Positions(), Seeks()
    pos.reset({P0: 3})
    pos.accept({P0: recs(9)}, [P0], seek)
    got = pos.accept({P0: recs(5, 6)}, [P0], seek)
    assert got.records == []
    assert seek.calls == [(P0, 3), (P0, 3)]


def test_partitions_are_judged_independently_in_fetch_order() -> None:
    pos, seek = Positions(), Seeks()
    pos.reset({P0: 0, P1: 100})
    got = pos.accept({P1: recs(100, 101), P0: recs(4)}, [P0, P1], seek)
    assert offsets(got.records) == [100, 101]
    assert got.gaps == [Gap(P0, 0, 4)]
    assert pos.expected(P1) == 102


def test_reset_forgets_positions_and_suspected_gaps() -> None:
    pos, seek = Positions(), Seeks()
    pos.reset({P0: 3})
    pos.accept({P0: recs(7)}, [P0], seek)
    pos.reset({P0: 3})
    got = pos.accept({P0: recs(7)}, [P0], seek)
    assert got.records == []  # questioned afresh: the old suspicion belongs to another position
    assert seek.calls == [(P0, 3), (P0, 3)]
    pos.reset({})
    assert pos.expected(P0) is None
