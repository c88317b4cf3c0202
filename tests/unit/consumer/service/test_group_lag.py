"""group_lag(): every partition's lag from the group's stored offsets (pure)."""

from __future__ import annotations

from consumer.service.group_lag import group_lag


def test_lag_counts_from_the_stored_offset_or_the_beginning() -> None:
    ends = {("t", 0): 10, ("t", 1): 7, ("t", 2): 0, ("t", 3): 5}
    stored = {("t", 0): 10, ("t", 1): 3}
    beginnings = {("t", 2): 0, ("t", 3): 2}  # partition 3: compacted up to offset 2
    assert group_lag(ends, stored, beginnings) == {
        ("t", 0): 0,
        ("t", 1): 4,
        ("t", 2): 0,
        ("t", 3): 3,
    }


def test_a_partition_without_a_known_beginning_is_not_invented() -> None:
    assert group_lag({("t", 0): 4}, {}, {}) == {("t", 0): 0}
    assert group_lag({("t", 0): 4}, {("t", 0): 9}, {}) == {("t", 0): 0}  # never negative
