from __future__ import annotations

import pytest

from consumer.intake.batcher import Batcher


def test_empty_batch_is_never_due() -> None:
    b: Batcher[int] = Batcher(max_size=3, max_wait_s=0.5)
    assert not b.due(now=1000.0)
    assert b.time_left(now=1000.0) == 0.5
    assert b.room() == 3


def test_flush_on_size() -> None:
    b: Batcher[int] = Batcher(max_size=3, max_wait_s=10)
    b.add([1, 2], now=0.0)
    assert not b.due(now=0.1)
    assert b.room() == 1
    b.add([3], now=0.2)
    assert b.due(now=0.2)
    assert b.take() == [1, 2, 3]
    assert len(b) == 0
    assert not b.due(now=0.3)


def test_flush_on_age_of_oldest_message() -> None:
    b: Batcher[str] = Batcher(max_size=100, max_wait_s=0.5)
    b.add(["a"], now=10.0)
    b.add(["b"], now=10.4)  # a later message does not restart the clock
    assert not b.due(now=10.49)
    assert b.time_left(now=10.2) == pytest.approx(0.3)
    assert b.due(now=10.5)
    assert b.time_left(now=11.0) == 0.0
    assert b.take() == ["a", "b"]


def test_clock_restarts_after_take() -> None:
    b: Batcher[int] = Batcher(max_size=100, max_wait_s=1.0)
    b.add([1], now=0.0)
    b.take()
    b.add([], now=5.0)
    assert b.time_left(now=5.0) == 1.0
    b.add([2], now=7.0)
    assert not b.due(now=7.5)
    assert b.due(now=8.0)


def test_fetch_order_is_kept_and_overfill_is_allowed() -> None:
    b: Batcher[int] = Batcher(max_size=2, max_wait_s=1.0)
    b.add([5, 3, 9], now=0.0)
    assert b.room() == 0
    assert b.take() == [5, 3, 9]


@pytest.mark.parametrize(("size", "wait"), [(0, 1.0), (1, 0.0)])
def test_bad_limits_rejected(size: int, wait: float) -> None:
    with pytest.raises(ValueError, match="batch size"):
        Batcher(max_size=size, max_wait_s=wait)
